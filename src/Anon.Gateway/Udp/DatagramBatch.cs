using System.Net;
using System.Net.Sockets;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Udp;

/// <summary>
/// The datagrams waiting on the gateway's socket, taken in one go, and the datagrams going out (the
/// answers to them and the retransmissions the timers made), sent in one go: on Linux one
/// <c>recvmmsg</c> and one <c>sendmmsg</c> system call per batch
/// (<see cref="MultiMessageBatch"/>), elsewhere one call per datagram (<see cref="SocketBatch"/>).
/// </summary>
/// <remarks>
/// Every buffer is allocated once, so a datagram costs no allocation. Use: <see cref="Receive"/>;
/// for each datagram, write its answer into <see cref="NextOutgoing"/> and <see cref="QueueOutgoing"/>
/// it; then <see cref="Flush"/>. Retransmissions are written and queued the same way; a full batch must be flushed
/// before more is queued. Single-threaded, like the loop that owns it.
/// </remarks>
internal abstract class DatagramBatch
{
    /// <summary>Datagrams taken per batch; then the loop looks at its timers again.</summary>
    public const int Capacity = 64;

    /// <summary>
    /// Room for one received datagram. The gateway's clients send 12-byte headers; a larger
    /// datagram is cut here, which changes nothing, since any payload from a client is dropped.
    /// </summary>
    protected const int ReceiveSlotSize = 2048;

    public static DatagramBatch Create(Socket socket) =>
        OperatingSystem.IsLinux() ? new MultiMessageBatch(socket) : new SocketBatch(socket);

    /// <summary>The buffer the next datagram to queue (an answer or a retransmission) is to be written into: <see cref="Segments.MaxDatagram"/> bytes.</summary>
    public abstract Span<byte> NextOutgoing { get; }

    /// <summary>True when <see cref="Capacity"/> datagrams wait to go out: <see cref="Flush"/> before queueing another.</summary>
    public abstract bool IsFull { get; }

    /// <summary>
    /// Waits up to about <paramref name="wait"/> for a datagram, then takes it and any others
    /// waiting, up to <see cref="Capacity"/>; returns how many (0 when the wait ran out).
    /// </summary>
    public abstract int Receive(TimeSpan wait);

    /// <summary>The <paramref name="index"/>-th datagram of the last <see cref="Receive"/>.</summary>
    public abstract ReadOnlySpan<byte> Datagram(int index);

    /// <summary>Its sender.</summary>
    public abstract PeerAddress Source(int index);

    /// <summary>Queues the <paramref name="length"/> bytes written into <see cref="NextOutgoing"/> for <paramref name="destination"/>.</summary>
    public abstract void QueueOutgoing(int length, in PeerAddress destination);

    /// <summary>Sends every queued datagram; returns how many could not be sent (a retransmission covers them).</summary>
    public abstract int Flush();
}

/// <summary>The portable batch: <c>ReceiveFrom</c> and <c>SendTo</c>, one datagram a call.</summary>
internal sealed class SocketBatch : DatagramBatch
{
    private readonly Socket _socket;
    private readonly byte[][] _received = new byte[Capacity][];
    private readonly int[] _lengths = new int[Capacity];
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private readonly byte[][] _outgoing = new byte[Capacity][];
    private readonly int[] _outgoingLengths = new int[Capacity];
    private readonly SocketAddress[] _destinations = new SocketAddress[Capacity];
    private int _queued;

    public SocketBatch(Socket socket)
    {
        _socket = socket;
        for (int i = 0; i < Capacity; i++)
        {
            _received[i] = new byte[ReceiveSlotSize];
            _sources[i] = new SocketAddress(socket.AddressFamily);
            _outgoing[i] = new byte[Segments.MaxDatagram];
            _destinations[i] = new SocketAddress(socket.AddressFamily);
        }
    }

    public override Span<byte> NextOutgoing => _outgoing[_queued];

    public override bool IsFull => _queued == Capacity;

    public override int Receive(TimeSpan wait)
    {
        if (!_socket.Poll(wait, SelectMode.SelectRead))
        {
            return 0;
        }

        int count = 0;
        for (int attempt = 0; attempt < Capacity && (attempt == 0 || _socket.Poll(0, SelectMode.SelectRead)); attempt++)
        {
            try
            {
                _lengths[count] = _socket.ReceiveFrom(_received[count], SocketFlags.None, _sources[count]);
                count++;
            }
            catch (SocketException)
            {
                // An ICMP error for an earlier send, reported on this socket: the peer's problem, not ours.
            }
        }

        return count;
    }

    public override ReadOnlySpan<byte> Datagram(int index) => _received[index].AsSpan(0, _lengths[index]);

    public override PeerAddress Source(int index) => SocketAddresses.Read(_sources[index]);

    public override void QueueOutgoing(int length, in PeerAddress destination)
    {
        SocketAddresses.Write(destination, _destinations[_queued]);
        _outgoingLengths[_queued++] = length;
    }

    public override int Flush()
    {
        int failed = 0;
        for (int i = 0; i < _queued; i++)
        {
            try
            {
                _socket.SendTo(_outgoing[i].AsSpan(0, _outgoingLengths[i]), SocketFlags.None, _destinations[i]);
            }
            catch (SocketException)
            {
                failed++;
            }
        }

        _queued = 0;
        return failed;
    }
}
