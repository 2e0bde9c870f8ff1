using System.Net;
using System.Net.Sockets;
using Anon.Io;
using Anon.Ladder;
using Anon.Protocol;

namespace Anon.Client.Fetching;

/// <summary>
/// The client's socket loop: a UDP socket connected to the gateway, so the kernel delivers nothing
/// from any other address or port, driving the sans-IO <see cref="ClientConnection"/>.
/// </summary>
public sealed class ClientLoop : IDisposable
{
    private readonly Socket _socket;
    private readonly IPEndPoint _gateway;
    private bool _connected;
    private readonly PacketLog _log;
    private readonly MonotonicClock _clock;
    // One byte more than the largest datagram of the protocol: a longer one arrives cut to this
    // length, still too long, and is dropped as such; a 64 KiB buffer would cost start-up time.
    private readonly byte[] _receiveBuffer = new byte[Segments.MaxDatagram + 1];
    private readonly byte[] _sendBuffer = new byte[Segments.MaxDatagram];
    private SocketError? _lastError;
    private bool _newHandshakeLogged;
    private readonly SteppedReceiveTimeout _receiveTimeout;

    public ClientLoop(IPEndPoint gateway, PacketLog log, TimeProvider? time = null)
    {
        _log = log;
        _clock = new MonotonicClock(time ?? TimeProvider.System);
        _gateway = gateway;
        _socket = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _receiveTimeout = new SteppedReceiveTimeout(_socket);
    }

    public TimeSpan Now => _clock.Now;

    /// <summary>Also records every datagram for a ladder diagram (--diagram), when set.</summary>
    public LadderRecorder? Recorder { get; init; }

    /// <summary>What to do about the errors the socket reports.</summary>
    public NetworkErrors NetworkErrors { get; init; }

    /// <summary>The gateway's host answered that nothing listens on the port, and the fetch gave up on it (<see cref="NetworkErrors.GiveUpOnRefusal"/>).</summary>
    public bool GaveUpOnRefusal => NetworkErrors.GiveUpOnRefusal && _lastError == SocketError.ConnectionRefused;

    /// <summary>
    /// Runs <paramref name="connection"/> until it is complete or has failed, then, if it lingers,
    /// until it closes: call once for the transfer and again for the linger.
    /// </summary>
    public void Run(ClientConnection connection, bool untilClosed, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TimeSpan now = _clock.Now;
            connection.HandleTimeout(now);
            NoteNewHandshake(connection);
            while (connection.PollTransmit(_sendBuffer, out int length))
            {
                Send(connection, _sendBuffer.AsSpan(0, length));
            }

            if (connection.State is ClientState.Failed or ClientState.Closed
                || (connection.IsComplete && !untilClosed)
                || (GaveUpOnRefusal && !connection.IsComplete))
            {
                return;
            }

            TimeSpan wait = (connection.PollTimeout() ?? now) - now;
            if (wait > TimeSpan.Zero)
            {
                Receive(connection, wait);
            }
        }
    }

    /// <summary>Words to add to a failure message about the last network error seen, if any.</summary>
    public string NetworkErrorNote => _lastError switch
    {
        null => "",
        SocketError.ConnectionRefused => $" ({ClientWords.NothingListens})",
        SocketError error => $" (last network error: {error})",
    };

    public void Dispose() => _socket.Dispose();

    /// <summary>
    /// Waits up to about <paramref name="wait"/> for a datagram and handles it. The wait is the
    /// receive itself, under the socket's receive timeout (SO_RCVTIMEO), rather than a poll first:
    /// one system call a datagram instead of two, on the path every round trip takes.
    /// </summary>
    private void Receive(ClientConnection connection, TimeSpan wait)
    {
        _receiveTimeout.Set(wait);
        int length = _socket.Receive(_receiveBuffer, SocketFlags.None, out SocketError error);
        if (error is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return; // a timer is due, or the next step of the wait
        }

        if (error != SocketError.Success)
        {
            // An ICMP error for our last send, such as port unreachable. The gateway may be
            // restarting: keep trying until the idle timeout, and say so if it comes to that.
            NoteError(connection, error);
            return;
        }

        ReadOnlySpan<byte> datagram = _receiveBuffer.AsSpan(0, length);
        TimeSpan now = _clock.Now;
        Recorder?.Record(PacketDirection.Receive, datagram, now);
        ClientDatagramOutcome outcome = connection.HandleDatagram(datagram, now, _sendBuffer);
        if (outcome.Received is { } received)
        {
            _log.Packet(PacketDirection.Receive, received); // before the answer's SEND line: the connection itself logs nothing
        }

        if (outcome.HasAnswer)
        {
            Send(connection, _sendBuffer.AsSpan(0, outcome.AnswerLength));
        }

        while (connection.PollNewDropReason(out DropReason reason))
        {
            _log.Event($"dropped {PeerWords.Describe(reason)} from the gateway (logged once a transfer; counted in the last line)");
        }
    }

    private void Send(ClientConnection connection, ReadOnlySpan<byte> datagram)
    {
        _log.Packet(PacketDirection.Send, datagram);
        Recorder?.Record(PacketDirection.Send, datagram, _clock.Now);
        if (!_connected && !(_connected = TryConnect(connection)))
        {
            return; // sent as far as the connection knows: its retransmission tries the route again
        }

        try
        {
            _socket.Send(datagram, SocketFlags.None);
        }
        catch (SocketException e)
        {
            NoteError(connection, e.SocketErrorCode); // no route, or an earlier datagram's ICMP error: retries cover it
        }
    }

    /// <summary>
    /// Connects the socket to the gateway, at the first send rather than at construction so that a
    /// failure reaches <see cref="NetworkErrors"/>. connect(2) on a UDP socket fails only when no
    /// route leads to the gateway (ENETUNREACH), as on a device whose network is not up yet: a
    /// network error like any other, tried again at the next send, until the idle timeout.
    /// </summary>
    private bool TryConnect(ClientConnection connection)
    {
        try
        {
            _socket.Connect(_gateway);
            return true;
        }
        catch (SocketException e)
        {
            NoteError(connection, e.SocketErrorCode);
            return false;
        }
    }

    private void NoteError(ClientConnection connection, SocketError error)
    {
        if (error == SocketError.ConnectionRefused)
        {
            connection.HandleUnreachable(_clock.Now);
            NoteNewHandshake(connection);
        }

        if (_lastError != error)
        {
            _lastError = error;
            NetworkErrors.Seen?.Invoke(error);
        }
    }

    /// <summary>Says, once a transfer, that the core abandoned a handshake that brought no data and began another.</summary>
    private void NoteNewHandshake(ClientConnection connection)
    {
        if (!_newHandshakeLogged && connection.Statistics.NewHandshakes > 0)
        {
            _newHandshakeLogged = true;
            _log.Event(ClientWords.NewHandshake);
        }
    }
}
