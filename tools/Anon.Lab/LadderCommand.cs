using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using Anon.Ladder;

namespace Anon.Lab;

/// <summary>
/// anon-lab ladder: draws the ladder diagram of a transfer from its logs, or of one it runs now
/// through the lossy relay (--live), as text on standard output and, with --svg, as an SVG file.
/// </summary>
public static class LadderCommand
{
    public static Command Create()
    {
        var log = new Argument<string?>("log") { Description = "A log of anonclient (or of anonGateway, with --side gateway).", Arity = ArgumentArity.ZeroOrOne };
        var gatewayLog = new Option<string?>("--gateway-log") { Description = "The gateway's log of the same transfers: merged with the client's, one connection at a time, it shows which datagrams were lost." };
        var side = new Option<LadderSide>("--side") { Description = "Whose log the log argument is.", DefaultValueFactory = _ => LadderSide.Client };
        var svg = new Option<string?>("--svg") { Description = "Also write the diagram as SVG to this file." };
        var live = new Option<bool>("--live") { Description = "Run a transfer now (page server, gateway, lossy relay, client, all on 127.0.0.1) and draw it from both logs." };
        var loss = new Option<double>("--loss") { Description = "With --live: probability of dropping each datagram, each way.", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "With --live: seed of the relay's drop decisions.", DefaultValueFactory = _ => 1 };
        var transfer = new Option<int?>("--transfer") { Description = "Of a log with several transfers (a gateway's, a watching client's), draw only this one, counted from 1 in the order they began." };
        var pageBytes = new Option<int>("--page-bytes") { Description = "With --live: size of the page (the spec's example: 1541 bytes, 4 segments).", DefaultValueFactory = _ => 1541 };
        var command = new Command("ladder", "Draw a transfer as a ladder diagram: one arrow per datagram, retransmissions and losses marked.")
        {
            log, gatewayLog, side, svg, live, loss, seed, pageBytes, transfer,
        };
        command.SetAction(async (parsed, cancel) =>
        {
            LadderDiagram diagram;
            if (parsed.GetValue(live))
            {
                LiveLadder run = await RunLiveAsync(parsed.GetValue(pageBytes), parsed.GetValue(loss), parsed.GetValue(seed)).ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"a {parsed.GetValue(pageBytes)}-byte page through a relay dropping {parsed.GetValue(loss):P0} each way (seed {parsed.GetValue(seed)}): client exit code {run.ClientExitCode}, {run.Dropped} datagrams dropped"));
                Console.WriteLine();
                diagram = run.Diagram;
            }
            else if (parsed.GetValue(log) is string logPath)
            {
                string? gatewayPath = parsed.GetValue(gatewayLog);
                string? problem = Unreadable(logPath) ?? (gatewayPath is null ? null : Unreadable(gatewayPath));
                if (problem is not null)
                {
                    await Console.Error.WriteLineAsync($"anon-lab ladder: {problem}").ConfigureAwait(false);
                    return 66; // EX_NOINPUT
                }

                IReadOnlyList<LadderDiagram> transfers = gatewayPath is not null
                    ? LadderDiagram.TransfersFromLogs(File.ReadLines(logPath), File.ReadLines(gatewayPath))
                    : LadderDiagram.TransfersFromLog(File.ReadLines(logPath), parsed.GetValue(side));
                if (transfers.Count == 0 || transfers[0].Arrows.Count == 0)
                {
                    await Console.Error.WriteLineAsync($"anon-lab ladder: '{logPath}' has no packet lines (RECV/SEND): not a log of anonclient or anonGateway").ConfigureAwait(false);
                    return 65; // EX_DATAERR
                }

                if (parsed.GetValue(transfer) is { } chosen)
                {
                    if (chosen < 1 || chosen > transfers.Count)
                    {
                        await Console.Error.WriteLineAsync($"anon-lab ladder: --transfer {chosen}: '{logPath}' holds {transfers.Count} transfer(s)").ConfigureAwait(false);
                        return 64;
                    }

                    diagram = transfers[chosen - 1];
                }
                else if (transfers.Count > 1)
                {
                    if (parsed.GetValue(svg) is not null)
                    {
                        await Console.Error.WriteLineAsync($"anon-lab ladder: '{logPath}' holds {transfers.Count} transfers: choose the one to draw as SVG with --transfer N").ConfigureAwait(false);
                        return 64;
                    }

                    for (int i = 0; i < transfers.Count; i++)
                    {
                        Console.WriteLine($"transfer {i + 1} of {transfers.Count}");
                        Console.Write(TextLadder.Render(transfers[i]));
                        Console.WriteLine();
                    }

                    return 0;
                }
                else
                {
                    diagram = transfers[0];
                }
            }
            else
            {
                await Console.Error.WriteLineAsync("anon-lab ladder: give a log file, or --live").ConfigureAwait(false);
                return 64;
            }

            Console.Write(TextLadder.Render(diagram));
            if (parsed.GetValue(svg) is string svgPath)
            {
                await File.WriteAllTextAsync(svgPath, SvgLadder.Render(diagram), cancel).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>Why a log cannot be read, in one line; null when it can.</summary>
    private static string? Unreadable(string path)
    {
        try
        {
            using FileStream _ = File.OpenRead(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read the log '{path}': {e.Message}";
        }
    }

    /// <summary>
    /// Serves a page of <paramref name="pageBytes"/> bytes, runs a gateway and the client through a
    /// relay that drops datagrams, and draws the transfer from both programs' logs.
    /// </summary>
    public static async Task<LiveLadder> RunLiveAsync(int pageBytes, double loss, int seed)
    {
        string work = Directory.CreateTempSubdirectory("anon-ladder-").FullName;
        try
        {
            await using PageServer web = await PageServer.StartAsync().ConfigureAwait(false);
            byte[] page = Encoding.ASCII.GetBytes("COMMAND=LIGHTON\n".PadRight(Math.Max(pageBytes, 16), '.'))[..pageBytes];
            Uri url = web.Serve("page", page);
            string gatewayLog = Path.Combine(work, "gateway.log");
            string clientLog = Path.Combine(work, "client.log");
            await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, gatewayLog).ConfigureAwait(false);
            await using var relay = new LossyRelay(new IPEndPoint(IPAddress.Loopback, gateway.Port), loss, seed);
            ProcessResult client = await Programs.RunClientAsync(
                ["-s", "127.0.0.1", "-p", relay.EndPoint.Port.ToString(CultureInfo.InvariantCulture), "-l", clientLog, "-f", Path.Combine(work, "page.txt"), "--linger", "1000"])
                .ConfigureAwait(false);
            await gateway.StopAsync().ConfigureAwait(false); // its log is complete once it has exited
            return new LiveLadder(LadderDiagram.FromLogs(File.ReadLines(clientLog), File.ReadLines(gatewayLog)), relay.Dropped, client.ExitCode);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>A transfer run through the lossy relay: its diagram, what the relay dropped, how the client ended.</summary>
public sealed record LiveLadder(LadderDiagram Diagram, long Dropped, int ClientExitCode);
