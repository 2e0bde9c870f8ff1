using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>One client that fetches the page again and again over its own socket, recording each transfer.</summary>
internal sealed class Session(IPEndPoint gateway, ClientOptions options, Recorder recorder)
{
    private readonly byte[] _receive = new byte[Segments.MaxDatagram + 64];
    private readonly byte[] _send = new byte[Segments.MaxDatagram];
    private CancellationTokenSource? _timeout;

    public async Task RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            // A fresh socket per transfer, as a fresh client process would have: a new source port.
            using var socket = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(gateway);
            TimeSpan started = clock.Elapsed;
            var connection = new ClientConnection(new SequenceNumber((uint)Random.Shared.NextInt64(1L << 32)), started, options);
            while (!connection.IsComplete && connection.State != ClientState.Failed && !stop.IsCancellationRequested)
            {
                connection.HandleTimeout(clock.Elapsed);
                while (connection.PollTransmit(_send, out int length))
                {
                    await socket.SendAsync(_send.AsMemory(0, length), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                }

                if (connection.PollTimeout() is not { } due || connection.IsComplete || connection.State == ClientState.Failed)
                {
                    break;
                }

                TimeSpan wait = due - clock.Elapsed;
                if (wait <= TimeSpan.Zero)
                {
                    continue;
                }

                // One timeout source per session, reset after each receive rather than made anew:
                // this loop runs once a datagram, and the generator should cost little beside the gateway.
                if (_timeout is null || !_timeout.TryReset())
                {
                    _timeout?.Dispose();
                    _timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                }

                _timeout.CancelAfter(wait);
                int received;
                try
                {
                    received = await socket.ReceiveAsync(_receive, SocketFlags.None, _timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    continue; // a timer is due
                }
                catch (SocketException)
                {
                    continue;
                }

                int answer = connection.HandleDatagram(_receive.AsSpan(0, received), clock.Elapsed, _send).AnswerLength;
                if (answer > 0)
                {
                    await socket.SendAsync(_send.AsMemory(0, answer), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                }
            }

            if (stop.IsCancellationRequested)
            {
                return;
            }

            recorder.Add(clock.Elapsed - started, connection);
        }
    }
}

/// <summary>Transfer times and outcomes from all sessions; a transfer counts when its content is the page, byte for byte.</summary>
internal sealed class Recorder(ReadOnlyMemory<byte> page)
{
    private readonly Lock _lock = new();
    private readonly List<double> _milliseconds = [];
    private readonly Stopwatch _clock = new();

    public int Failures { get; private set; }

    /// <summary>How the sessions were run, for the report.</summary>
    public string Engine { get; set; } = "";

    public long ClientRetransmissions { get; private set; }

    public void Add(TimeSpan elapsed, ClientConnection connection)
    {
        bool ok = connection.IsComplete && connection.Content.Span.SequenceEqual(page.Span);
        long retransmissions = connection.Statistics.Retransmissions;
        lock (_lock)
        {
            if (ok)
            {
                _milliseconds.Add(elapsed.TotalMilliseconds);
            }
            else
            {
                Failures++;
            }

            ClientRetransmissions += retransmissions;
        }
    }

    public int Transfers
    {
        get
        {
            lock (_lock)
            {
                return _milliseconds.Count;
            }
        }
    }

    public void Start() => _clock.Restart();

    public void Stop() => _clock.Stop();

    /// <summary>Transfers/s, transfer times and retransmissions, one figure a line.</summary>
    public string Report(int sessions)
    {
        double[] times;
        lock (_lock)
        {
            times = [.. _milliseconds.Order()];
        }

        return string.Create(CultureInfo.InvariantCulture, $"""
            sessions {sessions}, {_clock.Elapsed.TotalSeconds:0.0} s: {times.Length} transfers of {page.Length} bytes, {Failures} failed
            engine               {Engine}
            transfers/s          {times.Length / _clock.Elapsed.TotalSeconds:0}
            transfer time (ms)   p50 {Percentile(times, 0.50):0.00}  p99 {Percentile(times, 0.99):0.00}  max {(times.Length > 0 ? times[^1] : double.NaN):0.00}
            client retransmissions {ClientRetransmissions}
            """);
    }

    public static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];
}
