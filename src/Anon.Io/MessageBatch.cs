using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Anon.Io;

/// <summary>
/// Room for a batch of datagrams for Linux's <c>recvmmsg(2)</c> and <c>sendmmsg(2)</c>: one message
/// header per datagram, each with one I/O vector over a data slot of its own, an address slot and,
/// when asked for, a control (ancillary data) slot. A batch moves in one system call each way.
/// </summary>
/// <remarks>
/// Every buffer lives in a pinned array (the pinned object heap) allocated once, so its address can
/// be handed to the kernel at every call and a datagram costs no allocation. The layouts are those
/// of <c>&lt;sys/socket.h&gt;</c>; <see cref="nint"/> fields give the right sizes and padding on
/// 64-bit and 32-bit Linux alike. Single-threaded, like the loops that use it.
/// </remarks>
public sealed partial class MessageBatch
{
    /// <summary><c>MSG_DONTWAIT</c>: return at once when nothing is waiting.</summary>
    public const int DontWait = 0x40;

    /// <summary><c>MSG_WAITFORONE</c>: block (up to the socket's receive timeout) for the first datagram only.</summary>
    public const int WaitForOne = 0x10000;

    /// <summary><c>EAGAIN</c> (also <c>EWOULDBLOCK</c> on Linux): nothing waiting, or the receive timeout ran out.</summary>
    public const int ErrorWouldBlock = 11;

    /// <summary><c>EINTR</c>: a signal came first.</summary>
    public const int ErrorInterrupted = 4;

    /// <summary><c>sizeof(struct sockaddr_storage)</c>: room for any address.</summary>
    public const int AddressSlotSize = 128;

    private readonly int _slotSize;
    private readonly int _controlSlotSize;
    private readonly MultiMessageHeader[] _messages;
    private readonly IoVector[] _vectors;
    private readonly byte[] _data;
    private readonly byte[] _names;
    private readonly byte[] _controls;

    /// <param name="capacity">Datagrams a batch holds.</param>
    /// <param name="slotSize">Bytes of room for each datagram.</param>
    /// <param name="controlSlotSize">Bytes of ancillary data for each (such as <c>IP_PKTINFO</c>); 0 for none.</param>
    public MessageBatch(int capacity, int slotSize, int controlSlotSize = 0)
    {
        Capacity = capacity;
        _slotSize = slotSize;
        _controlSlotSize = controlSlotSize;
        _messages = GC.AllocateArray<MultiMessageHeader>(capacity, pinned: true);
        _vectors = GC.AllocateArray<IoVector>(capacity, pinned: true);
        _data = GC.AllocateArray<byte>(capacity * slotSize, pinned: true);
        _names = GC.AllocateArray<byte>(capacity * AddressSlotSize, pinned: true);
        _controls = GC.AllocateArray<byte>(Math.Max(1, capacity * controlSlotSize), pinned: true);
        for (int i = 0; i < capacity; i++)
        {
            _vectors[i].Base = Marshal.UnsafeAddrOfPinnedArrayElement(_data, i * slotSize);
            _messages[i].Header.IoVectors = Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, i);
            _messages[i].Header.IoVectorCount = 1;
            _messages[i].Header.Name = Marshal.UnsafeAddrOfPinnedArrayElement(_names, i * AddressSlotSize);
            _messages[i].Header.Control = controlSlotSize > 0 ? Marshal.UnsafeAddrOfPinnedArrayElement(_controls, i * controlSlotSize) : 0;
        }
    }

    public int Capacity { get; }

    /// <summary>The <paramref name="index"/>-th data slot, whole.</summary>
    public Span<byte> Data(int index) => _data.AsSpan(index * _slotSize, _slotSize);

    /// <summary>The <paramref name="index"/>-th address slot, whole.</summary>
    public Span<byte> Name(int index) => _names.AsSpan(index * AddressSlotSize, AddressSlotSize);

    /// <summary>The <paramref name="index"/>-th control slot, whole.</summary>
    public Span<byte> Control(int index) => _controls.AsSpan(index * _controlSlotSize, _controlSlotSize);

    /// <summary>After a receive: the length of the <paramref name="index"/>-th datagram (cut to the slot).</summary>
    public int ReceivedLength(int index) => (int)Math.Min(_messages[index].Length, (uint)_slotSize);

    /// <summary>After a receive: the length of the <paramref name="index"/>-th sender's address.</summary>
    public int NameLength(int index) => (int)Math.Min(_messages[index].Header.NameLength, AddressSlotSize);

    /// <summary>After a receive: the bytes of ancillary data the kernel wrote for the <paramref name="index"/>-th datagram.</summary>
    public int ControlLength(int index) => (int)Math.Min(_messages[index].Header.ControlLength, (nuint)_controlSlotSize);

    /// <summary>
    /// Takes up to <see cref="Capacity"/> waiting datagrams into the slots, every slot whole again
    /// first (the kernel shortens the lengths it fills in); returns how many, or -1 with the error
    /// in <see cref="Marshal.GetLastPInvokeError"/>.
    /// </summary>
    public int Receive(SafeSocketHandle socket, int flags)
    {
        for (int i = 0; i < Capacity; i++)
        {
            SetSlot(i, AddressSlotSize, _slotSize, _controlSlotSize);
        }

        return ReceiveMessages(socket, Marshal.UnsafeAddrOfPinnedArrayElement(_messages, 0), (uint)Capacity, flags, 0);
    }

    /// <summary>Sends the slots from <paramref name="first"/> on, <paramref name="count"/> of them, as set by <see cref="SetSlot"/>; returns how many went, or -1.</summary>
    public int Send(SafeSocketHandle socket, int first, int count, int flags) =>
        SendMessages(socket, Marshal.UnsafeAddrOfPinnedArrayElement(_messages, first), (uint)count, flags);

    /// <summary>Sets the lengths of the <paramref name="index"/>-th slot's address, data and ancillary data to send (or to receive into).</summary>
    public void SetSlot(int index, int nameLength, int dataLength, int controlLength = 0)
    {
        _vectors[index].Length = (nuint)dataLength;
        _messages[index].Header.NameLength = (uint)nameLength;
        _messages[index].Header.ControlLength = (nuint)controlLength;
        _messages[index].Header.Flags = 0;
        _messages[index].Length = 0;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int ReceiveMessages(SafeSocketHandle socket, nint messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMessages(SafeSocketHandle socket, nint messages, uint count, int flags);

    /// <summary>The sizes the kernel expects, for the layout test: 16, 56 and 64 on 64-bit Linux.</summary>
    internal static (int IoVector, int MessageHeader, int MultiMessageHeader) Layout =>
        (Marshal.SizeOf<IoVector>(), Marshal.SizeOf<MessageHeader>(), Marshal.SizeOf<MultiMessageHeader>());

    // <sys/uio.h> struct iovec: 16 bytes on 64-bit Linux, 8 on 32-bit (checked against a 32-bit C build).
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public nint Base;
        public nuint Length;
    }

    // <sys/socket.h> struct msghdr: 56 bytes on 64-bit Linux (padding after the name length and
    // at the end), 28 on 32-bit (checked against a 32-bit C build): nint and nuint give both.
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

    // struct mmsghdr: the msghdr and the count the kernel writes back; 64 bytes on 64-bit Linux, 32 on 32-bit.
    [StructLayout(LayoutKind.Sequential)]
    private struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }
}
