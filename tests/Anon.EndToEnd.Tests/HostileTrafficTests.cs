using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The gateway under floods, garbage, dead and stalled clients, and its own restart, on 127.0.0.1.
/// Every load is bounded in count and time; the figures go to the test output (docs/RELIABILITY.md).
/// </summary>
public sealed partial class HostileTrafficTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private const int LegitimateClients = 20;
    private const int FloodDatagrams = 100_000;
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task While_the_gateway_answers_100000_flood_syns_from_many_ports_20_clients_all_get_the_page_and_memory_stays_bounded()
    {
        int statusPort = Expect.FreeTcpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"), "--status", $"127.0.0.1:{statusPort}");
        await RunFloodWithClients(gateway, statusPort, (random, datagram) =>
        {
            random.NextBytes(datagram.AsSpan(0, 4));
            datagram.AsSpan(4, 8).Clear();
            datagram[11] = 0b010; // SYN
            return SegmentSize;
        });

        // The gateway's own count, from its closing summary: SYNs answered, not SYNs sent (the kernel drops some).
        Match answered = SynsAnsweredTotal().Matches(File.ReadAllText(_scratch.PathOf("gateway.log")))[^1];
        long synsAnswered = long.Parse(answered.Groups[1].Value, CultureInfo.InvariantCulture);
        output.WriteLine($"SYNs answered by the gateway: {synsAnswered}");
        Assert.True(synsAnswered >= FloodDatagrams, $"the gateway answered {synsAnswered} SYNs");
    }

    [Fact]
    public async Task While_the_gateway_receives_100000_random_datagrams_20_clients_all_get_the_page_and_memory_stays_bounded()
    {
        int statusPort = Expect.FreeTcpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"), "--status", $"127.0.0.1:{statusPort}");
        await RunFloodWithClients(gateway, statusPort, (random, datagram) =>
        {
            int length = random.Next(0, datagram.Length);
            random.NextBytes(datagram.AsSpan(0, length));
            return length;
        });
    }

    [Fact]
    public async Task Clients_that_stall_or_die_mid_transfer_are_all_reaped_while_the_gateway_serves_a_new_one()
    {
        // A short retry budget, so that reaping takes a second rather than the default nine; long
        // enough that the lossy relay's 50 % does not reap the killed clients before they are killed.
        int statusPort = Expect.FreeTcpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            web.LightOn, _scratch.PathOf("gateway.log"), "--rto-initial", "50", "--rto-max", "50", "--max-retransmissions", "20",
            "--status", $"127.0.0.1:{statusPort}");
        var gatewayAddress = new IPEndPoint(IPAddress.Loopback, gateway.Port);

        // Three real clients, their transfers kept slow by a lossy relay, are killed once all three
        // have a connection open; meanwhile ten clients complete the handshake, take the first
        // segment and never acknowledge it.
        Socket[] stalled;
        await using (var relay = new LossyRelay(gatewayAddress, loss: 0.5, seed: 3))
        {
            string[] arguments = Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf("killed.log"), _scratch.PathOf("killed.txt"), "--timeout", "60");
            Process[] doomed = Enumerable.Range(0, 3).Select(_ => Programs.StartClient(arguments)).ToArray();
            var waited = Stopwatch.StartNew();
            while (CountIn(_scratch.PathOf("gateway.log"), " opened") < 3 && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }

            Assert.Equal(3, CountIn(_scratch.PathOf("gateway.log"), " opened")); // each of them holds a connection
            stalled = [.. Enumerable.Range(0, 10).Select(_ => Expect.StallAfterFirstSegment(gatewayAddress))];
            foreach (Process process in doomed)
            {
                process.Kill();
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }

        // A new client while the stalled and killed ones are being reaped.
        ProcessResult healthy = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));
        int open = await WaitForNoOpenConnections(statusPort, TimeSpan.FromSeconds(30));
        Array.ForEach(stalled, socket => socket.Dispose());
        Assert.Equal(0, (await gateway.StopAsync()).ExitCode);

        Assert.Equal(0, healthy.ExitCode);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Equal(0, open);
        (long opened, long completed, long givenUp) = SummaryTotals();
        output.WriteLine($"summaries: {opened} connections opened, {completed} completed, {givenUp} given up");
        Assert.True(opened >= 14, $"{opened} connections opened: the 3 killed clients, the 10 stalled and the new one at least");
        Assert.True(completed >= 1, $"{completed} completed");
        Assert.Equal(opened - completed, givenUp); // every connection that did not complete was reaped, the killed clients' too
    }

    [Fact]
    public async Task A_gateway_killed_and_restarted_mid_transfer_leaves_the_client_failing_cleanly_without_a_file()
    {
        int port = Expect.FreeUdpPort();
        await using GatewayProcess first = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway-1.log"), port);
        await using var relay = new LossyRelay(new IPEndPoint(IPAddress.Loopback, port), loss: 0, seed: 11);
        relay.CutToClientsAfter(3); // three segments, then nothing: the kill comes mid-transfer
        Task<ProcessResult> client = Programs.RunClientAsync(
            Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "3"));

        var waited = Stopwatch.StartNew();
        while (!relay.HasCut && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        Assert.True(relay.HasCut, "the relay passed fewer than 3 segments in 30 s");
        await first.DisposeAsync(); // SIGKILL: no clean shutdown
        await using GatewayProcess second = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway-2.log"), port);
        relay.Release();
        ProcessResult result = await client;
        output.WriteLine($"client exit code {result.ExitCode}: {result.Error.Trim()}");

        Assert.Equal(69, result.ExitCode);
        // The 3 segments are the first three unless a busy machine made one of them a retransmission.
        Match stalled = Regex.Match(result.Error, $@"gateway 127\.0\.0\.1:{relay.EndPoint.Port}: the transfer stalled: nothing from the gateway for 3 s after (\d+) bytes");
        Assert.True(stalled.Success, result.Error);
        Assert.Contains(int.Parse(stalled.Groups[1].Value, CultureInfo.InvariantCulture), new[] { 512, 1024, 1536 });
        Assert.DoesNotContain(Directory.EnumerateFiles(_scratch.Directory), f => f.Contains("out.txt", StringComparison.Ordinal));
    }

    public void Dispose() => _scratch.Dispose();

    private const int SegmentSize = 12;

    /// <summary>
    /// Floods the gateway while 20 clients fetch, until the clients are done and the gateway itself
    /// has received <see cref="FloodDatagrams"/> datagrams (its status JSON says; sent is not received).
    /// </summary>
    private async Task RunFloodWithClients(GatewayProcess gateway, int statusPort, Func<Random, byte[], int> makeDatagram)
    {
        long rssBefore = Memory(gateway.ProcessId, "VmRSS");
        using var enough = new CancellationTokenSource();
        Task<long> flood = Task.Run(() => Flood(gateway.Port, makeDatagram, enough.Token));
        var stopwatch = Stopwatch.StartNew();
        ProcessResult[] clients = await Task.WhenAll(Enumerable.Range(0, LegitimateClients).Select(i => Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf($"c{i}.log"), _scratch.PathOf($"out{i}.txt"), "--timeout", "30"))));
        TimeSpan clientsTook = stopwatch.Elapsed;
        // The clients' own datagrams are counted too: at most 100 each (a handshake, 26 ACKs, retries),
        // so a count past both means the flood's 100,000 reached the gateway whatever the clients sent.
        long enoughReceived = FloodDatagrams + (LegitimateClients * 100);
        long received = await WaitForDatagramsReceived(statusPort, enoughReceived, flood);
        await enough.CancelAsync();
        long sent = await flood;
        long peak = Memory(gateway.ProcessId, "VmHWM");
        ProcessResult stopped = await gateway.StopAsync();
        long logBytes = new FileInfo(_scratch.PathOf("gateway.log")).Length;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flood: {sent} datagrams sent, {received} received by the gateway; {LegitimateClients} clients done in {clientsTook.TotalSeconds:0.0} s; gateway RSS {rssBefore / 1024} MiB before, peak {peak / 1024} MiB; log {logBytes / 1024} KiB"));
        Assert.True(received >= enoughReceived, $"the gateway received only {received} datagrams ({sent} sent by the flood)");
        Assert.All(clients, c => Assert.True(c.ExitCode == 0, c.Error));
        byte[] expected = Expect.Fixture("LIGHTON_COMMAND");
        Assert.All(Enumerable.Range(0, LegitimateClients), i => Assert.Equal(expected, File.ReadAllBytes(_scratch.PathOf($"out{i}.txt"))));
        Assert.Equal(0, stopped.ExitCode);
        // No state per datagram: 100,000 of them at even 200 bytes each would add 20 MiB.
        Assert.True(peak - rssBefore < 16 * 1024, $"gateway memory grew from {rssBefore} KiB to a peak of {peak} KiB");
        // The log keeps at most 200 lines a second of such traffic: a few hundred KiB, not the flood's megabytes.
        Assert.True(logBytes < 4 * 1024 * 1024, $"the log grew to {logBytes} bytes");
    }

    /// <summary>The gateway's count of datagrams received, from its status JSON, once it reaches <paramref name="atLeast"/> or the flood has ended.</summary>
    private static async Task<long> WaitForDatagramsReceived(int statusPort, long atLeast, Task flood)
    {
        using HttpClient http = new();
        long received;
        do
        {
            using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{statusPort}/status.json")));
            received = json.RootElement.GetProperty("traffic").GetProperty("datagramsReceived").GetInt64();
            if (received < atLeast)
            {
                await Task.Delay(250);
            }
        }
        while (received < atLeast && !flood.IsCompleted);

        return received;
    }

    [GeneratedRegex(@"totals: (\d+) SYNs answered")]
    private static partial Regex SynsAnsweredTotal();

    /// <summary>Sends datagrams from 256 source ports until told it is enough (at most 2,000,000 or 60 s).</summary>
    private static long Flood(int port, Func<Random, byte[], int> makeDatagram, CancellationToken enough)
    {
        var random = new Random(1);
        var target = new IPEndPoint(IPAddress.Loopback, port);
        Socket[] sockets = Enumerable.Range(0, 256).Select(_ =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return socket;
        }).ToArray();
        byte[] datagram = new byte[600];
        var deadline = Stopwatch.StartNew();
        long sent = 0;
        try
        {
            while (!enough.IsCancellationRequested && sent < 2_000_000 && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                int length = makeDatagram(random, datagram);
                try
                {
                    sockets[sent % sockets.Length].SendTo(datagram.AsSpan(0, length), SocketFlags.None, target);
                }
                catch (SocketException)
                {
                    // A full send buffer: the flood goes on.
                }

                sent++;
            }
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }

        return sent;
    }

    /// <summary>Waits until the status page's JSON shows no open connection; returns the last count seen.</summary>
    private static async Task<int> WaitForNoOpenConnections(int statusPort, TimeSpan timeout)
    {
        using HttpClient http = new();
        var stopwatch = Stopwatch.StartNew();
        int open;
        do
        {
            await Task.Delay(200);
            using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{statusPort}/status.json")));
            open = json.RootElement.GetProperty("traffic").GetProperty("openConnections").GetInt32();
        }
        while (open != 0 && stopwatch.Elapsed < timeout);

        return open;
    }

    /// <summary>The sums over every summary line of the gateway's log (each counts since the one before).</summary>
    private (long Opened, long Completed, long GivenUp) SummaryTotals()
    {
        long opened = 0, completed = 0, givenUp = 0;
        foreach (Match match in SummaryLine().Matches(File.ReadAllText(_scratch.PathOf("gateway.log"))))
        {
            opened += long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            completed += long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            givenUp += long.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        }

        return (opened, completed, givenUp);
    }

    [GeneratedRegex(@"since the last summary: (\d+) connections opened, (\d+) completed, (\d+) given up")]
    private static partial Regex SummaryLine();

    private static int CountIn(string path, string text)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split(text).Length - 1;
    }

    /// <summary>A figure from /proc/PID/status, in KiB.</summary>
    private static long Memory(int processId, string field)
    {
        string line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
