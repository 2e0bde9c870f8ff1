using System.CommandLine;
using System.Globalization;
using System.Net;
using Anon.Cli;
using Anon.Lab;

var demo = new Command("demo", "Serve both command pages locally, run a gateway for each and fetch them with the client.");
demo.SetAction((_, _) => Demo.RunAsync(Console.Out));

var servePort = new Option<int>("--port") { Description = "TCP port on 127.0.0.1 (0: any free one).", DefaultValueFactory = _ => 0 };
// No default shown in the help: it is a path of the build, which a packaged anon-lab does not have.
var serveDirectory = new Argument<string?>("directory")
{
    Description = "Directory whose files to serve (built from the repository: the spec's two pages, by default).",
    Arity = ArgumentArity.ZeroOrOne,
};
var serve = new Command("serve", "Serve the files of a directory over HTTP on 127.0.0.1 until stopped.") { servePort, serveDirectory };
serve.SetAction(async (parsed, cancel) =>
{
    string folder = parsed.GetValue(serveDirectory) ?? Programs.FixturesDirectory;
    if (!Directory.Exists(folder))
    {
        // Installed from the anon-tools package there is no fixtures folder beside the program.
        Console.Error.WriteLine($"anon-lab serve: no folder {folder}: give the folder whose files to serve");
        return 66; // sysexits' EX_NOINPUT
    }

    await using PageServer server = await PageServer.StartAsync(parsed.GetValue(servePort));
    server.ServeDirectory(folder);
    Console.WriteLine($"serving {folder} at {server.BaseAddress}");
    await Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
    return 0;
});

var relayGateway = new Option<string>("--gateway") { Description = "The gateway, as 127.0.0.1:PORT.", Required = true };
var relayPort = new Option<int>("--port") { Description = "UDP port on 127.0.0.1 for clients (0: any free one).", DefaultValueFactory = _ => 0 };
var relayLoss = new Option<double>("--loss") { Description = "Probability of dropping each datagram, each way (0 to 1).", DefaultValueFactory = _ => 0.1 };
var relaySeed = new Option<int>("--seed") { Description = "Seed of the drop decisions.", DefaultValueFactory = _ => 1 };
var relay = new Command("relay", "Relay UDP between clients and a gateway, dropping datagrams at random.") { relayGateway, relayPort, relayLoss, relaySeed };
relay.SetAction(async (parsed, cancel) =>
{
    await using var lossy = new LossyRelay(
        IPEndPoint.Parse(parsed.GetRequiredValue(relayGateway)), parsed.GetValue(relayLoss), parsed.GetValue(relaySeed), parsed.GetValue(relayPort));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"relaying {lossy.EndPoint} -> {parsed.GetValue(relayGateway)}, loss {parsed.GetValue(relayLoss):P0} each way"));
    await Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
    return 0;
});

var root = new RootCommand("anon-lab: a local test bench for anonGateway and anonclient.") { demo, serve, relay, LadderCommand.Create(), SocketHost.Create(), Anon.Lab.Conformance.ConformanceCommand.Create(), Anon.Lab.Testbed.TestbedCommand.Create() };
ParseResult parsed = root.Parse(args);
// Bad usage is exit code 64 (sysexits' EX_USAGE), as for the two programs, not the parser's 1; a
// failure is one line and its exit code, as theirs. Ctrl+C cancels the running command (the
// parser's handling: the relay, the page server and the testbed stop on their token).
return CommandLineApp.ReportUsageErrors(parsed) ? ExitCodes.Usage : CommandLineApp.Invoke(parsed, new InvocationConfiguration { EnableDefaultExceptionHandler = false });
