using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Anon.Gateway;

/// <summary>
/// Linux's <c>recvmmsg(2)</c> and <c>sendmmsg(2)</c>: a whole batch of datagrams in one system call
/// each way, where the portable path makes three calls a datagram (poll, receive, send). On a
/// loaded gateway the system calls are most of the cost of a datagram (docs/PERFORMANCE.md).
/// </summary>
/// <remarks>
/// The message headers, I/O vectors, address and data buffers live in pinned arrays (the pinned
/// object heap) allocated once, so their addresses can be handed to the kernel at every call.
/// The layouts are those of <c>&lt;sys/socket.h&gt;</c>; <see cref="nint"/> fields give the right
/// sizes and padding on 64-bit and 32-bit Linux alike.
/// </remarks>
internal sealed partial class MultiMessageBatch : DatagramBatch
{
    private const int MessageDontWait = 0x40;      // MSG_DONTWAIT
    private const int MessageWaitForOne = 0x10000; // MSG_WAITFORONE: block for the first datagram only
    private const int ErrorWouldBlock = 11;   // EAGAIN, also EWOULDBLOCK on Linux
    private const int ErrorInterrupted = 4;   // EINTR
    private const int NameSlotSize = 128;     // sizeof(struct sockaddr_storage)

    private readonly Socket _socket;
    private readonly Batch _receive = new(ReceiveSlotSize);
    private readonly Batch _send = new(Anon.Protocol.Segments.MaxDatagram);
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private int _received;
    private int _queued;
    private int _receiveTimeoutMilliseconds = -1;

    /// <summary>
    /// The receive timeouts the socket is set to (SO_RCVTIMEO), in milliseconds: the longest not
    /// longer than the wait asked for (1 ms for anything shorter). A few steps, so that the option
    /// is set now and then rather than before every receive.
    /// </summary>
    private static readonly int[] TimeoutSteps = [200, 100, 50, 20, 10, 5, 2, 1];

    public MultiMessageBatch(Socket socket)
    {
        _socket = socket;
        for (int i = 0; i < Capacity; i++)
        {
            _sources[i] = new SocketAddress(socket.AddressFamily);
        }
    }

    public override Span<byte> NextAnswer => _send.Data(_queued);

    /// <remarks>
    /// The wait is the receive itself: a blocking <c>recvmmsg</c> with <c>MSG_WAITFORONE</c> under
    /// the socket's receive timeout, rather than a <c>poll</c> first. An idle-to-busy wake-up thus
    /// costs two system calls (this and the <c>sendmmsg</c> of the answers), not three.
    /// </remarks>
    public override int Receive(TimeSpan wait)
    {
        _received = 0;
        int flags = MessageDontWait;
        if (wait > TimeSpan.Zero)
        {
            int step = 1;
            foreach (int milliseconds in TimeoutSteps)
            {
                if (milliseconds <= wait.TotalMilliseconds)
                {
                    step = milliseconds;
                    break;
                }
            }

            if (step != _receiveTimeoutMilliseconds)
            {
                _socket.ReceiveTimeout = step;
                _receiveTimeoutMilliseconds = step;
            }

            flags = MessageWaitForOne;
        }

        for (int attempt = 0; attempt < 3; attempt++)
        {
            _receive.PrepareToReceive();
            int count = ReceiveMessages(_socket.SafeHandle, _receive.Messages, Capacity, flags, 0);
            if (count >= 0)
            {
                for (int i = 0; i < count; i++)
                {
                    ref MultiMessageHeader message = ref _receive.Message(i);
                    SocketAddress source = _sources[i];
                    int nameLength = (int)Math.Min(message.Header.NameLength, (uint)source.Buffer.Length);
                    _receive.Name(i)[..nameLength].CopyTo(source.Buffer.Span);
                    source.Size = nameLength;
                }

                _received = count;
                return count;
            }

            if (Marshal.GetLastPInvokeError() == ErrorWouldBlock)
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
        return _receive.Data(index)[..(int)Math.Min(_receive.Message(index).Length, (uint)ReceiveSlotSize)];
    }

    public override SocketAddress Source(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _received);
        return _sources[index];
    }

    public override void QueueAnswer(int length, SocketAddress destination)
    {
        destination.Buffer.Span[..destination.Size].CopyTo(_send.Name(_queued));
        _send.SetSlot(_queued, nameLength: destination.Size, dataLength: length);
        _queued++;
    }

    public override int Flush()
    {
        int failed = 0;
        int next = 0;
        while (next < _queued)
        {
            int sent = SendMessages(_socket.SafeHandle, _send.Messages + (next * Marshal.SizeOf<MultiMessageHeader>()), (uint)(_queued - next), MessageDontWait);
            if (sent > 0)
            {
                next += sent;
            }
            else if (sent < 0 && Marshal.GetLastPInvokeError() == ErrorInterrupted)
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

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int ReceiveMessages(SafeSocketHandle socket, nint messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMessages(SafeSocketHandle socket, nint messages, uint count, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public nint Name;
        public uint NameLength;
        public nint IoVectors;
        public nuint IoVectorCount;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }

    /// <summary>Capacity message headers, each with one I/O vector over its own data slot and an address slot.</summary>
    private sealed class Batch
    {
        private readonly int _slotSize;
        private readonly MultiMessageHeader[] _messages = GC.AllocateArray<MultiMessageHeader>(Capacity, pinned: true);
        private readonly IoVector[] _vectors = GC.AllocateArray<IoVector>(Capacity, pinned: true);
        private readonly byte[] _data;
        private readonly byte[] _names = GC.AllocateArray<byte>(Capacity * NameSlotSize, pinned: true);

        public Batch(int slotSize)
        {
            _slotSize = slotSize;
            _data = GC.AllocateArray<byte>(Capacity * slotSize, pinned: true);
            for (int i = 0; i < Capacity; i++)
            {
                _vectors[i].Base = Marshal.UnsafeAddrOfPinnedArrayElement(_data, i * slotSize);
                _messages[i].Header.IoVectors = Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, i);
                _messages[i].Header.IoVectorCount = 1;
                _messages[i].Header.Name = Marshal.UnsafeAddrOfPinnedArrayElement(_names, i * NameSlotSize);
            }
        }

        public nint Messages => Marshal.UnsafeAddrOfPinnedArrayElement(_messages, 0);

        public ref MultiMessageHeader Message(int index) => ref _messages[index];

        public Span<byte> Data(int index) => _data.AsSpan(index * _slotSize, _slotSize);

        public Span<byte> Name(int index) => _names.AsSpan(index * NameSlotSize, NameSlotSize);

        /// <summary>Before a receive: every slot whole again (the kernel shortens the lengths it fills in).</summary>
        public void PrepareToReceive()
        {
            for (int i = 0; i < Capacity; i++)
            {
                SetSlot(i, NameSlotSize, _slotSize);
            }
        }

        public void SetSlot(int index, int nameLength, int dataLength)
        {
            _vectors[index].Length = (nuint)dataLength;
            _messages[index].Header.NameLength = (uint)nameLength;
            _messages[index].Header.Flags = 0;
            _messages[index].Length = 0;
        }
    }
}
