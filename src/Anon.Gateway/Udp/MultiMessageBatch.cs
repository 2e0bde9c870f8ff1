using System.Net.Sockets;
using System.Runtime.InteropServices;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Udp;

/// <summary>
/// Linux's <c>recvmmsg(2)</c> and <c>sendmmsg(2)</c>: a whole batch of datagrams in one system call
/// each way, where the portable path makes three calls a datagram (poll, receive, send). On a
/// loaded gateway the system calls are most of the cost of a datagram (docs/PERFORMANCE.md).
/// </summary>
internal sealed class MultiMessageBatch : DatagramBatch
{
    private readonly Socket _socket;
    private readonly MessageBatch _receive = new(Capacity, ReceiveSlotSize);
    private readonly MessageBatch _send = new(Capacity, Segments.MaxDatagram);
    private readonly AddressFamily _family;
    private int _received;
    private int _queued;
    private readonly SteppedReceiveTimeout _receiveTimeout;

    public MultiMessageBatch(Socket socket)
    {
        _socket = socket;
        _receiveTimeout = new SteppedReceiveTimeout(socket);
        _family = socket.AddressFamily;
    }

    public override Span<byte> NextOutgoing => _send.Data(_queued);

    public override bool IsFull => _queued == Capacity;

    /// <remarks>
    /// The wait is the receive itself: a blocking <c>recvmmsg</c> with <c>MSG_WAITFORONE</c> under
    /// the socket's receive timeout, rather than a <c>poll</c> first. An idle-to-busy wake-up thus
    /// costs two system calls (this and the <c>sendmmsg</c> of the answers), not three.
    /// </remarks>
    public override int Receive(TimeSpan wait)
    {
        _received = 0;
        int flags = MessageBatch.DontWait;
        if (wait > TimeSpan.Zero)
        {
            _receiveTimeout.Set(wait);
            flags = MessageBatch.WaitForOne;
        }

        for (int attempt = 0; attempt < 3; attempt++)
        {
            int count = _receive.Receive(_socket.SafeHandle, flags);
            if (count >= 0)
            {
                _received = count;
                return count;
            }

            if (Marshal.GetLastPInvokeError() == MessageBatch.ErrorWouldBlock)
            {
                return 0; // nothing waiting, or the receive timeout ran out
            }

            // An ICMP error for an earlier send (ECONNREFUSED...), now reported and cleared, or a
            // signal (EINTR): the peer's problem or nobody's; try again.
        }

        return 0;
    }

    public override ReadOnlySpan<byte> Datagram(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _received);
        return _receive.Data(index)[.._receive.ReceivedLength(index)];
    }

    public override PeerAddress Source(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _received);
        return SocketAddresses.Read(_family, _receive.Name(index)[.._receive.NameLength(index)]);
    }

    public override void QueueOutgoing(int length, in PeerAddress destination)
    {
        int nameLength = SocketAddresses.Write(destination, _family, _send.Name(_queued));
        _send.SetSlot(_queued, nameLength, dataLength: length);
        _queued++;
    }

    public override int Flush()
    {
        int failed = 0;
        int next = 0;
        while (next < _queued)
        {
            int sent = _send.Send(_socket.SafeHandle, next, _queued - next, MessageBatch.DontWait);
            if (sent > 0)
            {
                next += sent;
            }
            else if (sent < 0 && Marshal.GetLastPInvokeError() == MessageBatch.ErrorInterrupted)
            {
                continue;
            }
            else
            {
                // The first of the rest could not go (a full buffer, an unreachable peer): skip it.
                failed++;
                next++;
            }
        }

        _queued = 0;
        return failed;
    }
}
