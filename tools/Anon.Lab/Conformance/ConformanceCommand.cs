using System.CommandLine;
using System.Net;
using Anon.Cli;

namespace Anon.Lab.Conformance;

/// <summary>
/// anon-lab conformance: grades an implementation of the spec, gateway or client, case by case
/// (docs/CONFORMANCE.md); and runs the suite's own gateway and client, in the readings of the spec
/// other implementations take or broken on purpose, for testing implementations against.
/// </summary>
public static class ConformanceCommand
{
    /// <summary>Bad usage, as for every anon-lab command.</summary>
    public const int Usage = Anon.Cli.ExitCodes.Usage;

    /// <summary>Nothing answers at the gateway's address (sysexits' EX_UNAVAILABLE): no case is run.</summary>
    public const int Unavailable = 69;

    public static Command Create()
    {
        var command = new Command("conformance", "Grade an implementation of the spec, gateway or client, case by case: OK, LENIENT, FAILED or UNSUPPORTED.");
        command.Subcommands.Add(GatewayCommand());
        command.Subcommands.Add(ClientCommand());
        command.Subcommands.Add(PeerGatewayCommand());
        command.Subcommands.Add(PeerClientCommand());
        return command;
    }

    private static (Option<string?> Json, Option<string?> JUnit, Option<string[]> Case, Option<bool> List, Option<int> Seed) ReportOptions() => (
        new Option<string?>("--json") { Description = "Also write the verdicts as JSON to this file." },
        new Option<string?>("--junit") { Description = "Also write the verdicts as JUnit XML to this file." },
        new Option<string[]>("--case") { Description = "Run only this case (repeat for more); see --list.", AllowMultipleArgumentsPerToken = false },
        new Option<bool>("--list") { Description = "List the cases and the spec sentence each checks, and run none." },
        new Option<int>("--seed") { Description = "Seed of the cases' random parts (ISNs, garbage), so that a run replays.", DefaultValueFactory = _ => 1 });

    private static Command GatewayCommand()
    {
        var target = new Argument<string?>("target") { Description = "The gateway under test, HOST:PORT (127.0.0.1:30000, [::1]:30000).", Arity = ArgumentArity.ZeroOrOne };
        var expect = new Option<string?>("--expect") { Description = "A file with the page the gateway serves, to compare byte for byte (required unless --list)." };
        var log = new Option<string?>("--log") { Description = "The gateway's log file, for the log-format case." };
        var patience = new DurationOption(
            "--patience", "Seconds of silence from the gateway before a case calls its transfer stalled (1 to 600); six times it bounds gateway.retransmit.bounded.",
            TimeSpan.FromSeconds(10), inSeconds: true, maximum: TimeSpan.FromSeconds(600));
        var (json, junit, cases, list, seed) = ReportOptions();
        var command = new Command("gateway", "Play clients against a running gateway that serves the --expect file.") { target, expect, log, patience, json, junit, cases, list, seed };
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(list))
            {
                return List(GatewayCases.All.Select(c => (c.Name, c.Spec)));
            }

            if (parsed.GetValue(target) is not { } address)
            {
                return UsageError("give the gateway under test as HOST:PORT, such as 127.0.0.1:30000");
            }

            if (!IPEndPoint.TryParse(address, out IPEndPoint? endPoint) || endPoint.Port == 0)
            {
                return UsageError($"not HOST:PORT: {address}");
            }

            if (parsed.GetValue(expect) is not { } expected)
            {
                return UsageError("give --expect FILE, a file with the page the gateway serves");
            }

            if (!File.Exists(expected))
            {
                return UsageError($"no such file: {expected}");
            }

            if (patience.Read(parsed) < TimeSpan.FromSeconds(1))
            {
                return UsageError($"--patience takes 1 to 600 seconds, not {patience.Read(parsed).TotalSeconds}");
            }

            var gateway = new GatewayTarget(endPoint, File.ReadAllBytes(expected), parsed.GetValue(log), parsed.GetValue(seed))
            {
                Patience = patience.Read(parsed),
            };
            return RunCases(
                GatewayCases.All, gateway, $"gateway {endPoint}", parsed.GetValue(cases), parsed.GetValue(json), parsed.GetValue(junit),
                unavailable: () => GatewayTarget.Answers(endPoint) ? null : $"nothing answers at {endPoint}: is the gateway running? (no case run)");
        });
        return command;
    }

    private static Command ClientCommand()
    {
        var page = new Option<string?>("--page") { Description = "The page to serve the client, its first line a command (required unless --list)." };
        var timeout = new DurationOption("--timeout", "Seconds a run of the client may take before it is killed.", TimeSpan.FromSeconds(30), inSeconds: true);
        var clientCommand = new Argument<string[]>("command")
        {
            Description = "After --: the client's command line; {host}, {port}, {log} and {out} are replaced per case.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var (json, junit, cases, list, seed) = ReportOptions();
        var command = new Command("client", "Play the gateway and start the client under test once per case.") { page, timeout, json, junit, cases, list, seed, clientCommand };
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(list))
            {
                return List(ClientCases.All.Select(c => (c.Name, c.Spec)));
            }

            string[] line = parsed.GetValue(clientCommand) ?? [];
            if (line.Length == 0 || !line.Any(part => part.Contains("{port}", StringComparison.Ordinal)))
            {
                return UsageError("give the client's command line after --, with {port} (and {log}, {out}) in it");
            }

            if (parsed.GetValue(page) is not { } served)
            {
                return UsageError("give --page FILE, the page to serve the client");
            }

            if (!File.Exists(served))
            {
                return UsageError($"no such file: {served}");
            }

            var client = new ClientTarget(line, File.ReadAllBytes(served), timeout.Read(parsed), parsed.GetValue(seed));
            return RunCases(ClientCases.All, client, $"client {string.Join(' ', line)}", parsed.GetValue(cases), parsed.GetValue(json), parsed.GetValue(junit));
        });
        return command;
    }

    private static Command PeerGatewayCommand()
    {
        var page = new Option<string>("--page") { Description = "The page to serve.", Required = true };
        var port = new Option<int>("--port") { Description = "UDP port on 127.0.0.1 (0: any free one, printed).", DefaultValueFactory = _ => 0 };
        var variant = new Option<string>("--variant")
        {
            Description = "A reading of the spec: " + string.Join(", ", Peers.GatewayReadings.Keys) + "; or a broken gateway: " + string.Join(", ", Peers.BrokenGateways.Keys),
            DefaultValueFactory = _ => "plain",
        };
        var log = new Option<string?>("--log") { Description = "Log each datagram to this file, in the spec's format (or, for malformed-log, not)." };
        var command = new Command("peer-gateway", "Run the suite's own gateway, in one reading of the spec or broken on purpose, until stopped.") { page, port, variant, log };
        command.SetAction(async (parsed, cancel) =>
        {
            string name = parsed.GetRequiredValue(variant);
            GatewayScript? script = Peers.GatewayReadings.GetValueOrDefault(name) ?? (Peers.BrokenGateways.TryGetValue(name, out var broken) ? broken.Script : null);
            if (script is null)
            {
                return UsageError($"no gateway variant {name}");
            }

            using var gateway = new SuiteGateway(File.ReadAllBytes(parsed.GetRequiredValue(page)), script, parsed.GetValue(port), parsed.GetValue(log));
            Console.WriteLine($"peer-gateway ({name}): listening on UDP port {gateway.Port}");
            await Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static Command PeerClientCommand()
    {
        var server = new Option<string>("-s") { Description = "The gateway's address.", Required = true };
        var port = new Option<int>("-p") { Description = "The gateway's UDP port.", Required = true };
        var log = new Option<string>("-l") { Description = "The log file.", Required = true };
        var file = new Option<string>("-f") { Description = "Where to write the page.", Required = true };
        var variant = new Option<string>("--variant")
        {
            Description = "A reading of the spec: " + string.Join(", ", Peers.ClientReadings.Keys) + "; or a broken client: " + string.Join(", ", Peers.BrokenClients.Keys),
            DefaultValueFactory = _ => "plain",
        };
        var command = new Command("peer-client", "Fetch once with the suite's own client, in one reading of the spec or broken on purpose.") { server, port, log, file, variant };
        command.SetAction(parsed =>
        {
            string name = parsed.GetRequiredValue(variant);
            (ClientScript Script, ClientDefect Defect)? chosen = Peers.ClientReadings.TryGetValue(name, out ClientScript? reading)
                ? (reading, ClientDefect.None)
                : Peers.BrokenClients.TryGetValue(name, out var broken) ? (broken.Script, broken.Defect) : null;
            if (chosen is null || !IPAddress.TryParse(parsed.GetRequiredValue(server), out IPAddress? address))
            {
                return UsageError(chosen is null ? $"no client variant {name}" : $"not an IP address: {parsed.GetValue(server)}");
            }

            return PeerClient.Run(new IPEndPoint(address, parsed.GetValue(port)), parsed.GetRequiredValue(log), parsed.GetRequiredValue(file), chosen.Value.Script, chosen.Value.Defect, Console.Out);
        });
        return command;
    }

    /// <param name="unavailable">Once the usage is checked: why the target cannot be graded at all, or null when it can.</param>
    private static int RunCases<TTarget>(
        IReadOnlyList<ConformanceCase<TTarget>> all, TTarget target, string title, string[]? only, string? json, string? junit,
        Func<string?>? unavailable = null)
    {
        string[] names = only ?? [];
        string? unknown = names.FirstOrDefault(name => all.All(c => c.Name != name));
        if (unknown is not null)
        {
            return UsageError($"no case {unknown} (see --list)");
        }

        if (unavailable?.Invoke() is { } reason)
        {
            Console.Error.WriteLine($"anon-lab conformance: {reason}");
            return Unavailable;
        }

        var results = new List<CaseResult>();
        foreach (ConformanceCase<TTarget> conformanceCase in all.Where(c => names.Length == 0 || names.Contains(c.Name)))
        {
            CaseResult result = conformanceCase.Execute(target);
            results.Add(result);
            Console.Error.WriteLine($"  {Report.Word(result.Verdict),-11} {result.Name}");
        }

        Report.WriteTable(Console.Out, title, results);
        if (json is not null)
        {
            Report.WriteJson(json, title, results);
        }

        if (junit is not null)
        {
            Report.WriteJUnit(junit, title, results);
        }

        return results.Any(result => result.Verdict == Verdict.Failed) ? 1 : 0;
    }

    private static int List(IEnumerable<(string Name, string Spec)> cases)
    {
        Console.WriteLine($"Each case with the sentence it checks, quoted from {Spec.Source}.");
        foreach ((string name, string spec) in cases)
        {
            Console.WriteLine($"{name}\n    \"{spec}\"");
        }

        return 0;
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"anon-lab conformance: {message}");
        return Usage;
    }
}
