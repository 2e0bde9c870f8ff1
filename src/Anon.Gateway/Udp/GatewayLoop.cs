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

    /// <summary>How often the loop takes its figures for the reporter; it allocates, so not per datagram.</summary>
    private static readonly TimeSpan FiguresInterval = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly GatewayEndpoint _endpoint;
    private readonly GatewayReporter _reporter;
    private readonly MonotonicClock _clock;
    private readonly DatagramBatch _batch;
    private readonly AllowList? _allowed;
    private byte[]? _postedContent;
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

    /// <summary>Serves until <paramref name="stop"/> is cancelled; returns within a fraction of a second of it.</summary>
    public void Run(CancellationToken stop)
    {
        TimeSpan nextFigures = _clock.Now;
        _reporter.Started(nextFigures);
        while (!stop.IsCancellationRequested)
        {
            TimeSpan now = _clock.Now;
            if (Interlocked.Exchange(ref _postedContent, null) is { } content)
            {
                _endpoint.SetContent(content);
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
        _reporter.Stopped(TakeFigures(_clock.Now));
    }

    public void Dispose() => _socket.Dispose();

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
            DatagramOutcome outcome = _endpoint.HandleDatagram(source, _batch.Datagram(i), now, _batch.NextAnswer);
            _reporter.Datagram(outcome, now);
            if (outcome.HasAnswer)
            {
                _batch.QueueAnswer(outcome.AnswerLength, source); // at most one answer a datagram: the batch has room
            }
        }

        Flush();
    }

    private void SendRetransmissions()
    {
        while (_endpoint.PollTransmit(_batch.NextAnswer, out Transmit transmit))
        {
            _reporter.Retransmitted(transmit);
            _batch.QueueAnswer(transmit.Length, transmit.Destination);
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
}
