using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Anon.Lab;
using Anon.Protocol;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The gateway's service life: a SIGTERM drains it (the transfers in flight finish, new clients are
/// left to retry), and a restart, with the socket held as systemd's socket activation holds it or
/// with a plain stop and start on the same port, fails none of the clients polling it.
/// </summary>
public sealed partial class RestartTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private const int Clients = 20;
    private const int Runs = 4; // three restarts
    private static readonly string LabPath = Path.Combine(Path.GetDirectoryName(typeof(Programs).Assembly.Location)!, "anon-lab");
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task A_sigterm_lets_twenty_transfers_in_flight_finish_and_answers_no_new_client()
    {
        string log = _scratch.PathOf("g.log");
        GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, log, "--max-connection-rate", "0", "--drain-timeout", "20");
        await using (gateway)
        {
            var address = new IPEndPoint(IPAddress.Loopback, gateway.Port);
            RawClient[] inFlight = [.. Enumerable.Range(0, Clients).Select(_ => RawClient.AfterFirstSegment(address))];

            Programs.Terminate(Process.GetProcessById(gateway.ProcessId));
            await WaitForLogAsync(log, "stopping: ");
            using (var latecomer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 500 })
            {
                // While the drain waits for the twenty, a new client's SYN gets no SYN|ACK.
                latecomer.Connect(address);
                latecomer.Send(Packet(7000, 0, SegmentFlags.Syn));
                var silence = Assert.Throws<SocketException>(() => latecomer.Receive(new byte[Segments.MaxDatagram]));
                Assert.Equal(SocketError.TimedOut, silence.SocketErrorCode);
            }

            byte[] pages = Expect.Fixture("LIGHTON_COMMAND");
            foreach (RawClient client in inFlight)
            {
                Assert.Equal(pages, client.Finish());
                client.Dispose();
            }

            ProcessResult stopped = await gateway.StopAsync();
            Assert.Equal(0, stopped.ExitCode);
        }

        Match drained = DrainedLine().Match(File.ReadAllText(log));
        Assert.True(drained.Success, "no drain line in the gateway's log");
        output.WriteLine(drained.Value);
        Assert.Equal(("20", "20", "0", "0"), (drained.Groups["finished"].Value, drained.Groups["total"].Value, drained.Groups["givenUp"].Value, drained.Groups["cut"].Value));
    }

    [Fact]
    public async Task A_client_that_stalls_is_cut_at_the_drain_timeout()
    {
        string log = _scratch.PathOf("g.log");
        GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, log, "--drain-timeout", "1");
        await using (gateway)
        {
            using RawClient stalled = RawClient.AfterFirstSegment(new IPEndPoint(IPAddress.Loopback, gateway.Port));
            var stopping = Stopwatch.StartNew();
            ProcessResult stopped = await gateway.StopAsync();

            Assert.Equal(0, stopped.ExitCode);
            output.WriteLine($"stopped {stopping.ElapsedMilliseconds} ms after SIGTERM");
            Assert.InRange(stopping.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
        }

        Match drained = DrainedLine().Match(File.ReadAllText(log));
        Assert.True(drained.Success, "no drain line in the gateway's log");
        Assert.Equal(("0", "1", "1"), (drained.Groups["finished"].Value, drained.Groups["total"].Value, drained.Groups["cut"].Value));
        // Cut at the drain timeout, not before it; the upper bound is only there to catch a hang.
        Assert.InRange(double.Parse(drained.Groups["took"].Value, CultureInfo.InvariantCulture), 1.0, 20.0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Restarting_the_gateway_three_times_fails_none_of_twenty_clients_fetching_in_a_loop(bool socketActivation)
    {
        int port = Expect.FreeUdpPort();
        string log = _scratch.PathOf("g.log");
        string[] gateway =
        [
            Programs.GatewayPath, "--port", "{port}", "--log", log, "--url", web.LightOn.ToString(), "--refresh", "0", "--max-connection-rate", "0",
        ];
        string[] host = ["socket-host", "--port", port.ToString(CultureInfo.InvariantCulture), "--runs", $"{Runs}", "--every", "4"];
        using Process lab = Programs.StartWithEnvironment(LabPath, [.. host, .. socketActivation ? [] : new[] { "--no-activation" }, "--", .. gateway], new Dictionary<string, string>());
        var lastRunStarted = new TaskCompletionSource();
        var hostOutput = new List<string>();
        Task reading = Task.Run(async () =>
        {
            while (await lab.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (hostOutput)
                {
                    hostOutput.Add(line);
                }

                if (line.StartsWith($"socket-host: run {Runs} started", StringComparison.Ordinal))
                {
                    lastRunStarted.TrySetResult();
                }
            }
        });
        await WaitForLogAsync(log, "listening on UDP port");

        byte[] page = Expect.Fixture("LIGHTON_COMMAND");
        var failures = new List<string>();
        int fetches = 0;
        Task[] loops = [.. Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            // Fetch after fetch until the last run has begun; that one serves long enough for them to finish.
            for (int round = 0; !lastRunStarted.Task.IsCompleted; round++)
            {
                string file = _scratch.PathOf($"out-{client}-{round}");
                ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf($"c{client}.log"), file), TimeSpan.FromSeconds(30));
                lock (failures)
                {
                    fetches++;
                    if (result.ExitCode != 0 || !File.ReadAllBytes(file).AsSpan().SequenceEqual(page))
                    {
                        failures.Add($"client {client}, fetch {round}: exit code {result.ExitCode}: {result.Error.Trim()}");
                    }
                }

                File.Delete(file);
            }
        }))];
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromMinutes(2));
        await lab.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await reading;

        string gatewayLog = File.ReadAllText(log);
        string[] drains = [.. DrainedLine().Matches(gatewayLog).Select(match => match.Value)];
        output.WriteLine($"{fetches} fetches by {Clients} clients over {Runs} runs ({(socketActivation ? "socket activation" : "plain restarts")})");
        foreach (string line in hostOutput.Concat(drains).Concat(failures))
        {
            output.WriteLine(line);
        }

        Assert.Empty(failures);
        Assert.Equal(0, lab.ExitCode); // every run of the gateway exited with 0
        Assert.True(fetches >= 2 * Clients, $"only {fetches} fetches: the clients did not poll through the restarts");
        Assert.Equal(Runs, drains.Length);
        Assert.All(drains, line => Assert.EndsWith(" 0 cut at the drain timeout", line, StringComparison.Ordinal));
        Assert.Equal(socketActivation ? Runs : 0, Regex.Count(gatewayLog, "using the UDP socket systemd passed"));
    }

    /// <summary>
    /// With socket activation the passed socket decides the address (anon-gateway.socket's
    /// ListenDatagram=), not --bind: a --bind it does not match is said, in the log and on stderr
    /// (the journal), and the start line names the address the socket has. The emulated-Pi system
    /// test found the start line claiming --bind's address for a socket bound to every address.
    /// </summary>
    [Fact]
    public async Task A_passed_socket_bound_elsewhere_than_bind_is_said_and_the_start_line_names_its_address()
    {
        int port = Expect.FreeUdpPort();
        string log = _scratch.PathOf("g.log");
        string[] gateway = [Programs.GatewayPath, "--port", "{port}", "--log", log, "--url", web.LightOn.ToString(), "--refresh", "0", "--bind", "::1"];
        ProcessResult host = await Programs.RunAsync(
            LabPath, ["socket-host", "--port", port.ToString(CultureInfo.InvariantCulture), "--runs", "1", "--every", "2", "--", .. gateway], TimeSpan.FromMinutes(1));
        string note = $"note: --bind ::1 is ignored: the socket systemd passed is bound to 127.0.0.1:{port} (give its address in anon-gateway.socket's ListenDatagram=)";

        Assert.True(host.ExitCode == 0, host.Output + host.Error);
        Assert.Contains($"anonGateway: {note}", host.Output, StringComparison.Ordinal); // socket-host repeats the run's stderr
        string written = File.ReadAllText(log);
        Assert.Contains(note, written, StringComparison.Ordinal);
        Assert.Contains($"listening on UDP port {port} of 127.0.0.1\n", written, StringComparison.Ordinal);
    }

    /// <summary>
    /// A gateway killed between its SYN|ACK and its first segment, and started again on its port
    /// (as systemd restarts it), knows nothing of the handshake the client completed: the client
    /// starts a new one and gets the page, whether the dead gateway's port answered "nothing
    /// listens" at once or the handshake ACKs met silence (the ClientOptions.HandshakeFallback timer).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_whose_gateway_died_after_its_syn_ack_gets_the_page_from_the_restarted_gateway(bool portClosedAtOnce)
    {
        int port = Expect.FreeUdpPort();
        string clientLog = _scratch.PathOf("c.log"), file = _scratch.PathOf("out");
        Task<ProcessResult> client;
        using (var dying = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            dying.Bind(new IPEndPoint(IPAddress.Loopback, port));
            client = Programs.RunClientAsync(Expect.ClientArguments(port, clientLog, file), TimeSpan.FromSeconds(30));
            (SegmentHeader syn, EndPoint from) = await ReceiveAsync(dying);
            Assert.True(syn.IsSyn, $"expected a SYN, got {syn}");
            await dying.SendToAsync(Packet(5000, (syn.Sequence + 1).Value, SegmentFlags.Syn | SegmentFlags.Ack), from);
            // On a loaded machine the client's SYN may be retransmitted before the SYN|ACK reaches it.
            SegmentHeader reply;
            while ((reply = (await ReceiveAsync(dying)).Header).IsSyn && reply.Sequence == syn.Sequence)
            {
            }

            Assert.Equal(SegmentFlags.Ack, reply.ControlFlags);
            if (!portClosedAtOnce)
            {
                // Alive but silent, as a restarted gateway is to an acknowledgment of a cookie it
                // cannot check, until the client gives up on that handshake and sends a new SYN.
                SegmentHeader next;
                while (!(next = (await ReceiveAsync(dying)).Header).IsSyn)
                {
                    Assert.Equal(syn.Sequence + 1, next.Sequence);
                }

                Assert.NotEqual(syn.Sequence, next.Sequence);
            }
        }

        await Task.Delay(300); // dead: what the client sends meets a closed port
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"), port);
        ProcessResult result = await client;

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(file));
        string written = File.ReadAllText(clientLog);
        Assert.Single(Regex.Matches(written, "starting a new handshake with a new ISN"));
        Assert.Matches(@"received \d+ bytes .*, [1-9]\d* new handshakes\)", written);
        Expect.WellFormedLog(clientLog);
    }

    private static async Task<(SegmentHeader Header, EndPoint From)> ReceiveAsync(Socket socket)
    {
        byte[] buffer = new byte[Segments.MaxDatagram];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        SocketReceiveFromResult received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.True(SegmentHeader.TryRead(buffer.AsSpan(0, received.ReceivedBytes), out SegmentHeader header));
        return (header, received.RemoteEndPoint);
    }

    public void Dispose() => _scratch.Dispose();

    private static async Task WaitForLogAsync(string log, string text)
    {
        for (int attempt = 0; attempt < 300; attempt++)
        {
            if (File.Exists(log) && (await File.ReadAllTextAsync(log)).Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"'{text}' never appeared in {log}");
    }

    private static byte[] Packet(uint sequence, uint acknowledgment, SegmentFlags flags)
    {
        byte[] packet = new byte[SegmentHeader.Size];
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(packet);
        return packet;
    }

    [GeneratedRegex(@"drained in (?<took>[\d.]+) s: (?<finished>\d+) of (?<total>\d+) transfers finished \((?<opened>\d+) opened by handshakes answered before the stop\), (?<givenUp>\d+) given up, (?<cut>\d+) cut at the drain timeout")]
    private static partial Regex DrainedLine();

    /// <summary>A client of raw datagrams that can stop after the first segment and go on later.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly List<byte> _content = [];
        private uint _sequence;
        private SegmentHeader _last;
        private int _lastLength;
        private SequenceNumber? _expected;

        private RawClient(Socket socket, uint sequence)
        {
            _socket = socket;
            _sequence = sequence;
        }

        /// <summary>Handshakes and takes the first segment without acknowledging it.</summary>
        public static RawClient AfterFirstSegment(IPEndPoint gateway)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
            socket.Connect(gateway);
            uint isn = (uint)Random.Shared.Next();
            var client = new RawClient(socket, isn + 1);
            socket.Send(Packet(isn, 0, SegmentFlags.Syn));
            SegmentHeader synAck = client.Receive();
            socket.Send(Packet(client._sequence++, (synAck.Sequence + 1).Value, SegmentFlags.Ack));
            client._last = client.Receive();
            return client;
        }

        /// <summary>Acknowledges every segment to the FIN; returns the page.</summary>
        public byte[] Finish()
        {
            while (true)
            {
                uint end = (_last.Sequence + _lastLength).Value;
                bool fin = _last.IsFin;
                _socket.Send(Packet(_sequence++, end, fin ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack));
                if (fin)
                {
                    return [.. _content];
                }

                _last = Receive();
            }
        }

        public void Dispose() => _socket.Dispose();

        /// <summary>The next datagram that is not a copy of one taken (the gateway retransmits while the client pauses).</summary>
        private SegmentHeader Receive()
        {
            byte[] buffer = new byte[Segments.MaxDatagram];
            while (true)
            {
                int length = _socket.Receive(buffer);
                Assert.True(SegmentHeader.TryRead(buffer.AsSpan(0, length), out SegmentHeader header));
                if (header.IsSyn)
                {
                    _expected = header.Sequence + 1;
                    return header;
                }

                if (header.Sequence != _expected)
                {
                    continue;
                }

                _lastLength = length - SegmentHeader.Size;
                _expected = header.Sequence + _lastLength;
                _content.AddRange(buffer.AsSpan(SegmentHeader.Size, _lastLength));
                return header;
            }
        }
    }
}
