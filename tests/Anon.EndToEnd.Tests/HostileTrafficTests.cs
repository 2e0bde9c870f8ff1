using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The gateway under floods, garbage, dead and stalled clients, and its own restart, on 127.0.0.1.
/// Every load is bounded in count and time; the figures go to the test output (docs/RELIABILITY.md).
/// </summary>
public sealed class HostileTrafficTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private const int LegitimateClients = 20;
    private const int FloodDatagrams = 100_000;
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task During_a_flood_of_100000_syns_from_many_ports_20_clients_all_get_the_page_and_memory_stays_bounded()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));
        await RunFloodWithClients(gateway, (random, datagram) =>
        {
            random.NextBytes(datagram.AsSpan(0, 4));
            datagram.AsSpan(4, 8).Clear();
            datagram[11] = 0b010; // SYN
            return SegmentSize;
        });
    }

    [Fact]
    public async Task During_a_storm_of_100000_random_datagrams_20_clients_all_get_the_page_and_memory_stays_bounded()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));
        await RunFloodWithClients(gateway, (random, datagram) =>
        {
            int length = random.Next(0, datagram.Length);
            random.NextBytes(datagram.AsSpan(0, length));
            return length;
        });
    }

    [Fact]
    public async Task Clients_that_stall_or_die_mid_transfer_are_reaped_and_the_gateway_keeps_serving()
    {
        // A short retry budget, so that reaping takes a second rather than the default nine.
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            web.LightOn, _scratch.PathOf("gateway.log"), "--rto-initial", "50", "--rto-max", "50", "--max-retransmissions", "5");
        var gatewayAddress = new IPEndPoint(IPAddress.Loopback, gateway.Port);

        // Ten clients complete the handshake, take the first segment and never acknowledge it.
        Socket[] stalled = Enumerable.Range(0, 10).Select(_ => Expect.StallAfterFirstSegment(gatewayAddress)).ToArray();

        // Three real clients are killed while a lossy relay keeps their transfers going slowly.
        await using (var relay = new LossyRelay(gatewayAddress, loss: 0.6, seed: 3))
        {
            string[] arguments = Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf("killed.log"), _scratch.PathOf("killed.txt"));
            Process[] doomed = Enumerable.Range(0, 3).Select(_ => Programs.StartClient(arguments)).ToArray();
            await Task.Delay(TimeSpan.FromMilliseconds(700));
            foreach (Process process in doomed)
            {
                process.Kill();
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }

        await WaitForLog(gateway, "given up", atLeast: 10, TimeSpan.FromSeconds(30));
        Array.ForEach(stalled, socket => socket.Dispose());
        ProcessResult healthy = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));

        Assert.Equal(0, healthy.ExitCode);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        output.WriteLine($"connections given up: {CountInLog("given up")}");
    }

    [Fact]
    public async Task A_gateway_killed_and_restarted_mid_transfer_leaves_the_client_failing_cleanly_without_a_file()
    {
        int port = Expect.FreeUdpPort();
        await using GatewayProcess first = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway-1.log"), port);
        await using var relay = new LossyRelay(new IPEndPoint(IPAddress.Loopback, port), loss: 0.3, seed: 11);
        Task<ProcessResult> client = Programs.RunClientAsync(
            Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "3"));

        // Mid-transfer: once the client's log shows data arriving (the lossy relay keeps it slow).
        var waited = Stopwatch.StartNew();
        while (CountIn(_scratch.PathOf("c.log"), "RECV") < 4 && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        await first.DisposeAsync(); // SIGKILL: no clean shutdown
        await using GatewayProcess second = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway-2.log"), port);
        ProcessResult result = await client;
        output.WriteLine($"client exit code {result.ExitCode}: {result.Error.Trim()}");

        if (result.ExitCode == 0)
        {
            // The transfer beat the kill: then the file must be whole.
            Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
            return;
        }

        Assert.Equal(69, result.ExitCode);
        Assert.Contains($"gateway 127.0.0.1:{relay.EndPoint.Port}: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(_scratch.Directory), f => f.Contains("out.txt", StringComparison.Ordinal));
    }

    public void Dispose() => _scratch.Dispose();

    private const int SegmentSize = 12;

    private async Task RunFloodWithClients(GatewayProcess gateway, Func<Random, byte[], int> makeDatagram)
    {
        long rssBefore = Memory(gateway.ProcessId, "VmRSS");
        var clientsDone = new CancellationTokenSource();
        Task<long> flood = Task.Run(() => Flood(gateway.Port, makeDatagram, clientsDone.Token));
        var stopwatch = Stopwatch.StartNew();
        ProcessResult[] clients = await Task.WhenAll(Enumerable.Range(0, LegitimateClients).Select(i => Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf($"c{i}.log"), _scratch.PathOf($"out{i}.txt"), "--timeout", "30"))));
        TimeSpan clientsTook = stopwatch.Elapsed;
        await clientsDone.CancelAsync();
        long sent = await flood;
        long peak = Memory(gateway.ProcessId, "VmHWM");
        ProcessResult stopped = await gateway.StopAsync();
        long logBytes = new FileInfo(_scratch.PathOf("gateway.log")).Length;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flood: {sent} datagrams; {LegitimateClients} clients done in {clientsTook.TotalSeconds:0.0} s; gateway RSS {rssBefore / 1024} MiB before, peak {peak / 1024} MiB; log {logBytes / 1024} KiB"));
        Assert.True(sent >= FloodDatagrams, $"only {sent} datagrams sent");
        Assert.All(clients, c => Assert.True(c.ExitCode == 0, c.Error));
        byte[] expected = Expect.Fixture("LIGHTON_COMMAND");
        Assert.All(Enumerable.Range(0, LegitimateClients), i => Assert.Equal(expected, File.ReadAllBytes(_scratch.PathOf($"out{i}.txt"))));
        Assert.Equal(0, stopped.ExitCode);
        // No state per datagram: 100,000 of them at even 200 bytes each would add 20 MiB.
        Assert.True(peak - rssBefore < 16 * 1024, $"gateway memory grew from {rssBefore} KiB to a peak of {peak} KiB");
        // The log keeps at most 200 lines a second of such traffic: a few hundred KiB, not the flood's megabytes.
        Assert.True(logBytes < 4 * 1024 * 1024, $"the log grew to {logBytes} bytes");
    }

    /// <summary>Sends at least <see cref="FloodDatagrams"/> datagrams from 256 source ports, and goes on until the clients are done (at most 2,000,000 or 60 s).</summary>
    private static long Flood(int port, Func<Random, byte[], int> makeDatagram, CancellationToken clientsDone)
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
            while ((sent < FloodDatagrams || !clientsDone.IsCancellationRequested) && sent < 2_000_000 && deadline.Elapsed < TimeSpan.FromSeconds(60))
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

    private async Task WaitForLog(GatewayProcess gateway, string text, int atLeast, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (CountInLog(text) < atLeast)
        {
            Assert.True(stopwatch.Elapsed < timeout, $"the gateway log shows {CountInLog(text)} '{text}', expected {atLeast} (gateway {gateway.ProcessId})");
            await Task.Delay(100);
        }
    }

    private int CountInLog(string text) => CountIn(_scratch.PathOf("gateway.log"), text);

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
