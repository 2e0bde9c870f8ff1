using System.Net;
using System.Net.Sockets;
using Anon.Gateway.Observability;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Udp;

/// <summary>
/// The gateway's socket loop: one UDP socket and one thread driving the sans-IO
/// <see cref="GatewayEndpoint"/> with each datagram, each timer expiry and each new page, and
/// handing what happened to the <see cref="GatewayReporter"/>.
/// </summary>
/// <remarks>
/// Each turn: apply a posted page, fire the core's timers, send the retransmissions, report, then
/// wait for datagrams up to the next deadline, handle every one waiting and send the answers. All
/// sending goes through the one <see cref="DatagramBatch"/>.
/// </remarks>
public sealed class GatewayLoop : IDisposable
{
    /// <summary>Longest wait between checks for shutdown and posted pages when no timer is due.</summary>
    private static readonly TimeSpan MaximumWait = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a drain waits after the last SYN|ACK for its handshake ACK: on a local network it
    /// comes within milliseconds, or with the client's retransmission (200 ms at first, RFC 6298 §2).
    /// </summary>
    private static readonly TimeSpan HandshakeGrace = TimeSpan.FromSeconds(1);

    /// <summary>How often the loop takes its figures for the reporter; it allocates, so not per datagram.</summary>
    private static readonly TimeSpan FiguresInterval = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly GatewayEndpoint _endpoint;
    private readonly GatewayReporter _reporter;
    private readonly MonotonicClock _clock;
    private readonly DatagramBatch _batch;
    private readonly AllowList? _allowed;
    private byte[]? _postedContent;
    private long _drainTicks = -1; // the drain's timeout, once asked for (from any thread); -1 until then
    private long _notAllowed;
    private long _sendErrors;

    public GatewayLoop(Socket socket, GatewayEndpoint endpoint, GatewayReporter reporter, TimeProvider? time = null, AllowList? allowed = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        _endpoint = endpoint;
        _reporter = reporter;
        _allowed = allowed;
        _clock = new MonotonicClock(time ?? TimeProvider.System);
        _batch = DatagramBatch.Create(socket);
    }

    /// <summary>The address the socket is bound to (port included, when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>
    /// Hands a new page to the loop, from any thread: connections opened after the loop's next turn
    /// (within 200 ms) get it; open ones keep theirs.
    /// </summary>
    public void PostContent(byte[] content) => Volatile.Write(ref _postedContent, content);

    /// <summary>
    /// Asks the loop, from any thread, to stop once the transfers in flight have finished, or after
    /// <paramref name="timeout"/>, whichever comes first; meanwhile it opens no connection (a drain).
    /// <see cref="Run"/> then returns. A zero timeout stops within one turn.
    /// </summary>
    public void Drain(TimeSpan timeout) => Interlocked.CompareExchange(ref _drainTicks, Math.Max(0, timeout.Ticks), -1);

    /// <summary>
    /// Serves until a <see cref="Drain"/> ends or <paramref name="stop"/> is cancelled (at once,
    /// abandoning what is in flight); returns within a fraction of a second of either.
    /// </summary>
    public void Run(CancellationToken stop)
    {
        TimeSpan nextFigures = _clock.Now;
        _reporter.Started(nextFigures);
        Drainage? drainage = null;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan now = _clock.Now;
            if (Interlocked.Exchange(ref _postedContent, null) is { } content)
            {
                _endpoint.SetContent(content);
            }

            if (drainage is null && Interlocked.Read(ref _drainTicks) is >= 0 and long ticks)
            {
                _endpoint.StopAccepting();
                drainage = new Drainage(now, now + TimeSpan.FromTicks(ticks), _endpoint);
                _reporter.Draining(drainage.InFlight, TimeSpan.FromTicks(ticks));
            }

            if (drainage is not null && (Drained(now) || now >= drainage.Deadline))
            {
                break;
            }

            _endpoint.HandleTimeout(now);
            SendRetransmissions();
            ReportEvents();
            if (now >= nextFigures)
            {
                _reporter.Figures(TakeFigures(now));
                nextFigures = now + FiguresInterval;
            }

            TimeSpan wait = (_endpoint.PollTimeout() ?? TimeSpan.MaxValue) - now;
            ReceiveAndAnswer(wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaximumWait ? MaximumWait : wait);
        }

        ReportEvents();
        TimeSpan end = _clock.Now;
        if (drainage is not null)
        {
            _reporter.Drained(drainage.Outcome(end, _endpoint));
        }

        _reporter.Stopped(TakeFigures(end));
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Nothing left to finish: no connection open, and no handshake answered so recently that its ACK may still come.</summary>
    private bool Drained(TimeSpan now) =>
        _endpoint.ConnectionCount == 0 && (_endpoint.LastSynAnsweredAt is not { } answered || now - answered >= HandshakeGrace);

    /// <summary>Waits up to <paramref name="wait"/> for datagrams, handles each, and sends the answers together.</summary>
    private void ReceiveAndAnswer(TimeSpan wait)
    {
        int received = _batch.Receive(wait);
        for (int i = 0; i < received; i++)
        {
            PeerAddress source = _batch.Source(i);
            if (_allowed is not null && !_allowed.Allows(source))
            {
                _notAllowed++; // --allow: not a client of ours; not even logged, only counted
                continue;
            }

            TimeSpan now = _clock.Now;
            DatagramOutcome outcome = _endpoint.HandleDatagram(source, _batch.Datagram(i), now, _batch.NextOutgoing);
            _reporter.Datagram(outcome, now);
            if (outcome.HasAnswer)
            {
                _batch.QueueOutgoing(outcome.AnswerLength, source); // at most one answer a datagram: the batch has room
            }
        }

        Flush();
    }

    private void SendRetransmissions()
    {
        while (_endpoint.PollTransmit(_batch.NextOutgoing, out Transmit transmit))
        {
            _reporter.Retransmitted(transmit);
            _batch.QueueOutgoing(transmit.Length, transmit.Destination);
            if (_batch.IsFull)
            {
                Flush();
            }
        }

        Flush();
    }

    /// <summary>Sends what is queued; a datagram the socket refuses is counted, and the retransmission timers cover it.</summary>
    private void Flush() => _sendErrors += _batch.Flush();

    private void ReportEvents()
    {
        while (_endpoint.PollEvent(out GatewayEvent e))
        {
            _reporter.Event(e);
        }
    }

    private TrafficSnapshot TakeFigures(TimeSpan now) =>
        TrafficSnapshot.Take(_endpoint, now, _notAllowed, _sendErrors, _reporter.ConnectionsListed);

    /// <summary>A drain under way: when it began, its deadline, and the figures to tell its outcome by.</summary>
    private sealed class Drainage(TimeSpan startedAt, TimeSpan deadline, GatewayEndpoint endpoint)
    {
        private readonly GatewayStatistics _before = endpoint.Statistics;

        public TimeSpan Deadline => deadline;

        public int InFlight { get; } = endpoint.ConnectionCount;

        public DrainOutcome Outcome(TimeSpan now, GatewayEndpoint at)
        {
            GatewayStatistics after = at.Statistics;
            return new(
                InFlight,
                (int)(after.ConnectionsOpened - _before.ConnectionsOpened),
                (int)(after.ConnectionsCompleted - _before.ConnectionsCompleted),
                (int)(GivenUp(after) - GivenUp(_before)),
                at.ConnectionCount,
                now - startedAt);
        }

        private static long GivenUp(in GatewayStatistics statistics) => statistics.ConnectionsTimedOut + statistics.ClosesUnconfirmed;
    }
}
