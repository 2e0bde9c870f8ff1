using Anon.Protocol;

namespace Anon.Lab;

/// <summary>
/// The README's demo: a local web server with the two command pages, a gateway for each, and the
/// client fetching both, printing what crosses the wire and what the LED does.
/// </summary>
public static class Demo
{
    public static async Task<int> RunAsync(TextWriter output)
    {
        string workDirectory = Directory.CreateTempSubdirectory("anon-demo-").FullName;
        await using PageServer web = await PageServer.StartAsync().ConfigureAwait(false);
        web.ServeDirectory(Programs.FixturesDirectory);
        output.WriteLine($"1. A web server on this machine serves the two command pages at {web.BaseAddress}");
        output.WriteLine();

        int exitCode = 0;
        string[] pages = ["LIGHTON_COMMAND", "LIGHTOFF_COMMAND"];
        for (int i = 0; i < pages.Length; i++)
        {
            string gatewayLog = Path.Combine(workDirectory, $"gateway-{i + 1}.log");
            string clientLog = Path.Combine(workDirectory, $"client-{i + 1}.log");
            string file = Path.Combine(workDirectory, $"command-{i + 1}.txt");
            Uri page = new(web.BaseAddress, pages[i]);

            output.WriteLine($"{(2 * i) + 2}. The gateway downloads {pages[i]} and serves it over UDP");
            output.WriteLine($"   $ anonGateway -p 0 -l {gatewayLog} -w {page}");
            await using GatewayProcess gateway = await GatewayProcess.StartAsync(page, gatewayLog).ConfigureAwait(false);
            output.WriteLine($"   {gateway.Banner}");
            output.WriteLine();

            output.WriteLine($"{(2 * i) + 3}. The client, which never touches the internet, fetches it from the gateway");
            string[] arguments = ["-s", "127.0.0.1", "-p", gateway.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-l", clientLog, "-f", file];
            output.WriteLine($"   $ anonclient {string.Join(' ', arguments)}");
            ProcessResult client = await Programs.RunClientAsync(arguments).ConfigureAwait(false);
            foreach (string line in Lines(client.Output + client.Error))
            {
                output.WriteLine($"   {line}");
            }

            output.WriteLine($"   exit code {client.ExitCode}; the exchange, from the client's log:");
            PrintExchange(output, clientLog);
            ProcessResult stopped = await gateway.StopAsync().ConfigureAwait(false);
            output.WriteLine($"   (gateway stopped with SIGTERM: exit code {stopped.ExitCode})");
            output.WriteLine();
            exitCode = Math.Max(exitCode, Math.Max(client.ExitCode, stopped.ExitCode));
        }

        output.WriteLine($"Logs and files are in {workDirectory}");
        return exitCode;
    }

    private static void PrintExchange(TextWriter output, string logPath)
    {
        string[] packets = File.ReadAllLines(logPath).Where(line => PacketLogLine.IsPacketLine(line)).ToArray();
        const int Head = 7;
        const int Tail = 4;
        for (int i = 0; i < packets.Length; i++)
        {
            if (i == Head && packets.Length > Head + Tail + 1)
            {
                output.WriteLine($"      ... {packets.Length - Head - Tail} more lines ...");
                i = packets.Length - Tail;
            }

            output.WriteLine($"      {packets[i]}");
        }
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
