using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Anon.Lab;
using Anon.Protocol;

namespace Anon.EndToEnd.Tests;

public sealed partial class TransferTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Theory]
    [InlineData("LIGHTON_COMMAND", "LED is ON")]
    [InlineData("LIGHTOFF_COMMAND", "LED is OFF")]
    public async Task The_client_writes_the_page_byte_for_byte_and_switches_the_led(string page, string ledState)
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new Uri(web.Server.BaseAddress, page), _scratch.PathOf("gateway.log"));

        ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt")));

        Assert.Equal(0, client.ExitCode);
        Assert.Contains(ledState, client.Output, StringComparison.Ordinal);
        Assert.Equal(Expect.Fixture(page), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        Expect.WellFormedLog(_scratch.PathOf("client.log"));
        Expect.WellFormedLog(_scratch.PathOf("gateway.log"));
        Assert.Contains("completed: " + Expect.Fixture(page).Length + " bytes", File.ReadAllText(_scratch.PathOf("gateway.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Isns_12345_and_100_with_1541_bytes_give_the_spec_sample_in_the_client_log()
    {
        byte[] page = Encoding.ASCII.GetBytes("COMMAND=LIGHTON\n".PadRight(1541, '.'));
        Uri url = web.Server.Serve("sample", page);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, _scratch.PathOf("gateway.log"), "--initial-seq", "100");

        ProcessResult client = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt"), "--initial-seq", "12345"));

        Assert.Equal(0, client.ExitCode);
        string[] expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "spec-sample-client.log"));
        // A retransmission on a busy machine would repeat a line, never change one: compare without repeats.
        string[] packets = Expect.PacketLines(_scratch.PathOf("client.log"));
        Assert.Equal(expected, packets.Where((line, i) => i == 0 || line != packets[i - 1]));
    }

    [Fact]
    public async Task Each_run_of_the_client_draws_a_new_random_isn()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));

        string[] firstSyns = new string[3];
        for (int i = 0; i < firstSyns.Length; i++)
        {
            await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf($"c{i}.log"), _scratch.PathOf($"out{i}.txt")));
            firstSyns[i] = Expect.PacketLines(_scratch.PathOf($"c{i}.log"))[0];
        }

        Assert.All(firstSyns, line => Assert.EndsWith(" 0 SYN", line, StringComparison.Ordinal));
        Assert.Equal(firstSyns.Length, firstSyns.Distinct().Count());
    }

    [Fact]
    public async Task Fifty_clients_at_once_all_get_the_page()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));

        ProcessResult[] clients = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf($"client-{i}.log"), _scratch.PathOf($"out-{i}.txt")))));

        Assert.All(clients, c => Assert.Equal(0, c.ExitCode));
        byte[] expected = Expect.Fixture("LIGHTON_COMMAND");
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(expected, File.ReadAllBytes(_scratch.PathOf($"out-{i}.txt"))));
        await gateway.StopAsync();
        string gatewayLog = File.ReadAllText(_scratch.PathOf("gateway.log"));
        Assert.Equal(50, gatewayLog.Split("completed: 13112 bytes").Length - 1);
    }

    [Theory]
    [InlineData(0.10, 10)]
    [InlineData(0.30, 5)]
    public async Task Through_a_lossy_relay_every_client_gets_the_exact_page(double loss, int clients)
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));
        await using var relay = new LossyRelay(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, gateway.Port), loss, seed: 2026);

        // A generous --timeout: at 30 % loss each way a handshake can take several seconds of retries.
        ProcessResult[] results = await Task.WhenAll(Enumerable.Range(0, clients).Select(i =>
            Programs.RunClientAsync(Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf($"client-{i}.log"), _scratch.PathOf($"out-{i}.txt"), "--timeout", "30"))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        byte[] expected = Expect.Fixture("LIGHTON_COMMAND");
        Assert.All(Enumerable.Range(0, clients), i => Assert.Equal(expected, File.ReadAllBytes(_scratch.PathOf($"out-{i}.txt"))));
        Assert.True(relay.Dropped > 0, "the relay dropped nothing");
        await gateway.StopAsync(); // the log is written out every 200 ms, and at exit
        string log = File.ReadAllText(_scratch.PathOf("gateway.log"));
        MatchCollection completed = CompletedLine().Matches(log);
        Assert.All(completed, line => Assert.Equal(expected.Length, int.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture)));
        // A lost ACK|FIN, repeated through the client's linger, costs the gateway its clean close (the
        // client has left): that connection is a close unconfirmed, or still sending its FIN again when
        // the gateway stops, instead of completed; never given up, since every client got every byte.
        MatchCollection summaries = SummaryLine().Matches(log);
        int Total(int group) => summaries.Sum(s => int.Parse(s.Groups[group].Value, CultureInfo.InvariantCulture));
        Assert.Equal(clients, Total(1));
        Assert.Equal(completed.Count, Total(2));
        Assert.Equal(0, Total(3));
        Assert.InRange(completed.Count + Total(4), 1, clients);
        Assert.Equal(Total(4), Regex.Count(log, " close unconfirmed: every byte sent"));
        int retransmissions = Total(5);
        Assert.True(retransmissions > 0, $"{relay.Dropped} datagrams dropped and no segment sent again");
    }

    [Fact]
    public async Task The_client_reaches_the_gateway_over_ipv6_and_by_name()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOff, _scratch.PathOf("gateway.log"));
        string port = gateway.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        ProcessResult overIpv6 = await Programs.RunClientAsync(["-s", "::1", "-p", port, "-l", _scratch.PathOf("c6.log"), "-f", _scratch.PathOf("out6.txt")]);
        ProcessResult byName = await Programs.RunClientAsync(["--server", "localhost", "--port", port, "--log", _scratch.PathOf("cn.log"), "--file", _scratch.PathOf("outn.txt")]);

        Assert.True(overIpv6.ExitCode == 0, overIpv6.Error);
        Assert.True(byName.ExitCode == 0, byName.Error);
        Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out6.txt")));
        Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(_scratch.PathOf("outn.txt")));
        await gateway.StopAsync(); // the log is written out every 200 ms, and at exit
        Assert.Contains("connection from [::1]:", File.ReadAllText(_scratch.PathOf("gateway.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_stops_the_gateway_with_exit_code_0_and_a_flushed_log()
    {
        GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));
        await using (gateway)
        {
            ProcessResult stopped = await gateway.StopAsync();

            Assert.Equal(0, stopped.ExitCode);
            Assert.EndsWith("anonGateway stopped", File.ReadAllLines(_scratch.PathOf("gateway.log"))[^1], StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A device fetching from a timer gets the same page again and again: the file that holds it
    /// already is left as it is (not rewritten, so not waited for), and a changed page replaces it.
    /// </summary>
    [Fact]
    public async Task A_fetch_of_the_page_the_file_holds_already_leaves_the_file_and_a_changed_page_replaces_it()
    {
        string file = _scratch.PathOf("out.txt");
        var longAgo = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        await using (GatewayProcess lightOn = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g1.log")))
        {
            Assert.Equal(0, (await Programs.RunClientAsync(Expect.ClientArguments(lightOn.Port, _scratch.PathOf("c1.log"), file))).ExitCode);
            File.SetLastWriteTimeUtc(file, longAgo);

            ProcessResult again = await Programs.RunClientAsync(Expect.ClientArguments(lightOn.Port, _scratch.PathOf("c2.log"), file));

            Assert.True(again.ExitCode == 0, again.Error);
            Assert.Contains($"; {file} holds these 13112 bytes already: not written again\n", again.Output, StringComparison.Ordinal);
            Assert.Contains("LED is ON", again.Output, StringComparison.Ordinal); // the command is carried out all the same
            Assert.Equal(longAgo, File.GetLastWriteTimeUtc(file));
            Assert.Contains($"{file} holds these 13112 bytes already: not written again", File.ReadAllText(_scratch.PathOf("c2.log")), StringComparison.Ordinal);
        }

        await using GatewayProcess lightOff = await GatewayProcess.StartAsync(web.LightOff, _scratch.PathOf("g2.log"));
        ProcessResult changed = await Programs.RunClientAsync(Expect.ClientArguments(lightOff.Port, _scratch.PathOf("c3.log"), file));

        Assert.True(changed.ExitCode == 0, changed.Error);
        Assert.Contains($", written to {file}\n", changed.Output, StringComparison.Ordinal);
        Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(file));
        Assert.NotEqual(longAgo, File.GetLastWriteTimeUtc(file));
        Assert.Equal([file], Directory.GetFiles(Path.GetDirectoryName(file)!, "*out.txt*")); // no temporary file left
    }

    /// <summary>
    /// A one-shot client makes only blocking socket calls, so it starts none of the threads .NET
    /// keeps for asynchronous ones (".NET Sockets", an epoll loop): looked for in /proc while the
    /// client waits for an answer to its SYN.
    /// </summary>
    [Fact]
    public async Task A_one_shot_client_starts_no_thread_for_asynchronous_sockets()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        using Process client = Programs.StartClient(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "20"));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await silent.ReceiveAsync(new byte[Segments.MaxDatagram], timeout.Token); // its socket exists and waits

            string[] threads = [.. Directory.GetDirectories($"/proc/{client.Id}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim())];

            Assert.NotEmpty(threads);
            Assert.DoesNotContain(".NET Sockets", threads);
        }
        finally
        {
            client.Kill();
            await client.WaitForExitAsync();
        }
    }

    /// <summary>The gateway's line for a completed connection: its bytes and its retransmissions.</summary>
    [GeneratedRegex(@"completed: (\d+) bytes in [\d.]+ ms, (\d+) retransmissions")]
    private static partial Regex CompletedLine();

    [GeneratedRegex(@"since the last summary: (\d+) connections opened, (\d+) completed, (\d+) given up, (\d+) closes unconfirmed, (\d+) retransmissions")]
    private static partial Regex SummaryLine();

    public void Dispose() => _scratch.Dispose();
}
