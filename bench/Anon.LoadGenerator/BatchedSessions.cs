using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Anon.Io;
using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>
/// Every session on one thread and one socket, for a gateway on this machine's IPv4 loopback:
/// each transfer is its own client at an address of its own in 127.0.0.0/8 (the whole block is
/// this machine's), chosen per datagram with <c>IP_PKTINFO</c>, and the datagrams of all sessions
/// go in batches: one <c>sendmmsg</c> and one <c>recvmmsg</c> system call each way per turn.
/// </summary>
/// <remarks>
/// The gateway sees what it would see from that many devices: a new address for every transfer,
/// answered through its ordinary path. The generator's own cost per datagram drops to a share of
/// two system calls, so that on a 2-core machine the cores go to the gateway being measured; a
/// socket per session with async receives cost three times the gateway's CPU (docs/PERFORMANCE.md).
/// </remarks>
internal sealed class BatchedSessions : IDisposable
{
    private const int ProtocolIp = 0;     // IPPROTO_IP
    private const int PacketInfo = 8;     // IP_PKTINFO
    private const int ControlHeaderSize = 16; // sizeof(struct cmsghdr) on 64-bit Linux
    private const int PacketInfoSize = 12;    // sizeof(struct in_pktinfo)
    private const int ControlSlotSize = 32;   // CMSG_SPACE(sizeof(struct in_pktinfo))

    private readonly Socket _socket;
    private readonly SocketAddress _gateway;
    private readonly ClientOptions _options;
    private readonly SessionFaults _faults;
    private readonly ISessionSchedule? _schedule;
    private readonly Random _random;
    private readonly Recorder _recorder;
    private readonly Transfer[] _sessions;
    private readonly Dictionary<uint, int> _sessionByAddress = [];
    private readonly MessageBatch _receive;
    private readonly MessageBatch _send;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _queued;
    private uint _nextAddress;
    private readonly SteppedReceiveTimeout _receiveTimeout;

    private BatchedSessions(IPEndPoint gateway, int sessions, ClientOptions options, Recorder recorder, SessionFaults faults, ISessionSchedule? schedule)
    {
        _options = options;
        _faults = faults;
        _schedule = schedule;
        _random = new Random(faults.Seed);
        _recorder = recorder;
        _gateway = gateway.Serialize();
        _sessions = new Transfer[sessions];
        // Each session has at most a datagram or two out at a time; room for all of them and more.
        int capacity = Math.Clamp(sessions * 2, 16, 1024);
        _receive = new MessageBatch(capacity, Segments.MaxDatagram + 64, ControlSlotSize);
        _send = new MessageBatch(capacity, Segments.MaxDatagram, ControlSlotSize);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        _socket.ReceiveBufferSize = 4 << 20;
        _socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        _receiveTimeout = new SteppedReceiveTimeout(_socket);
    }

    /// <summary>
    /// Whether this engine can drive <paramref name="gateway"/>: 64-bit Linux (the ancillary data
    /// layout above) and an IPv4 loopback address.
    /// </summary>
    public static bool CanReach(IPEndPoint gateway) =>
        OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && gateway.AddressFamily == AddressFamily.InterNetwork && IPAddress.IsLoopback(gateway.Address);

    /// <summary>Runs <paramref name="sessions"/> sessions, each fetching the page again and again, for <paramref name="duration"/>, on the calling thread.</summary>
    /// <returns>How many devices the faults restarted or took away mid-transfer.</returns>
    /// <param name="schedule">When each session fetches; by default again as soon as a fetch ends.</param>
    public static FaultCounts Run(
        IPEndPoint gateway, int sessions, TimeSpan duration, ClientOptions options, Recorder recorder, SessionFaults? faults = null, ISessionSchedule? schedule = null)
    {
        using var engine = new BatchedSessions(gateway, sessions, options, recorder, faults ?? SessionFaults.None, schedule);
        engine.Run(duration);
        return new FaultCounts(engine.Restarts, engine.Vanished);
    }

    /// <summary>What the faults did to the devices (<see cref="SessionFaults.Abandon"/>).</summary>
    public readonly record struct FaultCounts(int Restarts, int Vanished);

    public void Dispose() => _socket.Dispose();

    private void Run(TimeSpan duration)
    {
        TimeSpan end = _clock.Elapsed + duration;
        for (int i = 0; i < _sessions.Length; i++)
        {
            if (_schedule is null)
            {
                Begin(i, _clock.Elapsed);
            }
            else
            {
                _sessions[i] = new Transfer(null!, 0, default, AbandonPlan.None, _schedule.FirstStart(i));
            }
        }

        while (true)
        {
            TimeSpan now = _clock.Elapsed;
            if (now >= end)
            {
                Flush(); // the last answers, such as the ACK|FIN of a transfer just counted
                return; // transfers still in flight are not counted, as with the async sessions
            }

            TimeSpan next = end;
            for (int i = 0; i < _sessions.Length; i++)
            {
                if (_sessions[i].IdleUntil is { } start)
                {
                    if (start > now)
                    {
                        next = start < next ? start : next;
                        continue;
                    }

                    Begin(i, now);
                }

                ClientConnection connection = _sessions[i].Connection;
                if (connection.PollTimeout() is { } due && due <= now)
                {
                    connection.HandleTimeout(now);
                    Transmit(i);
                    if (connection.State == ClientState.Failed)
                    {
                        Finish(i, now); // gave up: nothing from the gateway for the idle timeout
                        connection = _sessions[i].Connection;
                    }
                }

                if (connection.PollTimeout() is { } later && later < next)
                {
                    next = later;
                }
            }

            Flush();
            Receive(next - now);
        }
    }

    /// <summary>A new transfer for session <paramref name="index"/>, from the next unused address, or from its own again (a device that restarted).</summary>
    private void Begin(int index, TimeSpan now, bool sameAddress = false)
    {
        if (_sessions[index].Connection is not null && _sessions[index].IdleUntil is null)
        {
            _sessionByAddress.Remove(_sessions[index].Address);
        }

        uint address = sameAddress ? _sessions[index].Address : NextAddress();
        var connection = new ClientConnection(new SequenceNumber((uint)_random.NextInt64(1L << 32)), now, _options);
        AbandonPlan plan = _random.NextDouble() >= _faults.Abandon ? AbandonPlan.None
            : _random.Next(2) == 0 ? AbandonPlan.Restart : AbandonPlan.Vanish;
        _sessions[index] = new Transfer(connection, address, now, plan);
        _sessionByAddress[address] = index;
        Transmit(index);
    }

    /// <summary>Transfers begun again from the same address with a new ISN after their first segment, as by a device that restarted.</summary>
    private int Restarts { get; set; }

    /// <summary>Transfers left after their first segment by a device that went away: the gateway gives them up.</summary>
    private int Vanished { get; set; }

    /// <summary>127.1.0.1, 127.1.0.2, …: skips addresses ending in 0 or 255, and never reaches 127.255.255.255.</summary>
    private uint NextAddress()
    {
        do
        {
            _nextAddress++;
        }
        while ((_nextAddress & 0xFF) is 0 or 0xFF);

        return (127u << 24) | (1u << 16) + (_nextAddress % (254u << 16));
    }

    private void Transmit(int index)
    {
        ref Transfer transfer = ref _sessions[index];
        while (true)
        {
            if (_queued == _send.Capacity)
            {
                Flush();
            }

            if (!transfer.Connection.PollTransmit(_send.Data(_queued), out int length))
            {
                break;
            }

            Queue(transfer.Address, length);
        }
    }

    /// <summary>Queues the datagram written into the next send slot, from <paramref name="source"/> to the gateway, unless the faults lose it.</summary>
    private void Queue(uint source, int length)
    {
        if (_faults.Loss > 0 && _random.NextDouble() < _faults.Loss)
        {
            return; // lost on the way to the gateway: the slot is written over by the next
        }

        _gateway.Buffer.Span[.._gateway.Size].CopyTo(_send.Name(_queued));
        Span<byte> control = _send.Control(_queued);
        control.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(control, ControlHeaderSize + PacketInfoSize); // cmsg_len
        BinaryPrimitives.WriteInt32LittleEndian(control[8..], ProtocolIp);                    // cmsg_level
        BinaryPrimitives.WriteInt32LittleEndian(control[12..], PacketInfo);                   // cmsg_type
        BinaryPrimitives.WriteUInt32BigEndian(control[(ControlHeaderSize + 4)..], source);    // ipi_spec_dst: our source
        _send.SetSlot(_queued, _gateway.Size, length, ControlSlotSize);
        _queued++;
    }

    private void Flush()
    {
        int next = 0;
        while (next < _queued)
        {
            int sent = _send.Send(_socket.SafeHandle, next, _queued - next, 0);
            next += sent > 0 ? sent : 1; // one that cannot go is lost: the session's retransmission covers it
        }

        _queued = 0;
    }

    private void Receive(TimeSpan wait)
    {
        int flags = MessageBatch.DontWait;
        if (wait > TimeSpan.Zero)
        {
            _receiveTimeout.Set(wait);
            flags = MessageBatch.WaitForOne;
        }

        int count = _receive.Receive(_socket.SafeHandle, flags);
        if (count < 0 && Marshal.GetLastPInvokeError() is not (MessageBatch.ErrorWouldBlock or MessageBatch.ErrorInterrupted))
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        TimeSpan now = _clock.Elapsed;
        for (int i = 0; i < count; i++)
        {
            if (!TryDestination(i, out uint destination) || !_sessionByAddress.TryGetValue(destination, out int index))
            {
                continue; // for a transfer already over, such as a retransmitted FIN
            }

            if (_faults.Loss > 0 && _random.NextDouble() < _faults.Loss)
            {
                continue; // lost on the way from the gateway
            }

            ref Transfer transfer = ref _sessions[index];
            if (_queued == _send.Capacity)
            {
                Flush();
            }

            int answer = transfer.Connection.HandleDatagram(_receive.Data(i)[.._receive.ReceivedLength(i)], now, _send.Data(_queued)).AnswerLength;
            if (answer > 0)
            {
                Queue(transfer.Address, answer);
            }

            if (transfer.Connection.IsComplete || transfer.Connection.State == ClientState.Failed)
            {
                Finish(index, now);
            }
            else if (transfer.Plan != AbandonPlan.None && transfer.Connection.State == ClientState.Receiving)
            {
                // The device goes away with its first segment: restarted (the same address, a new
                // ISN, which replaces the connection) or gone for good (the gateway gives it up).
                bool restart = transfer.Plan == AbandonPlan.Restart;
                if (restart)
                {
                    Restarts++;
                }
                else
                {
                    Vanished++;
                }

                Begin(index, now, sameAddress: restart);
            }
        }
    }

    /// <summary>Records the transfer of session <paramref name="index"/>, which is over, and begins its next, now or when the schedule says.</summary>
    private void Finish(int index, TimeSpan now)
    {
        ref Transfer transfer = ref _sessions[index];
        _recorder.Add(now - transfer.Started, transfer.Connection);
        if (_schedule is null)
        {
            Begin(index, now);
            return;
        }

        _sessionByAddress.Remove(transfer.Address);
        transfer.IdleUntil = now + _schedule.Next(index, transfer.Started, now, transfer.Connection);
    }

    /// <summary>The address the <paramref name="index"/>-th datagram was sent to, from its <c>IP_PKTINFO</c> (<c>ipi_addr</c>).</summary>
    private bool TryDestination(int index, out uint address)
    {
        ReadOnlySpan<byte> control = _receive.Control(index)[.._receive.ControlLength(index)];
        while (control.Length >= ControlHeaderSize)
        {
            int length = (int)BinaryPrimitives.ReadInt64LittleEndian(control);
            if (length < ControlHeaderSize || length > control.Length)
            {
                break;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(control[8..]) == ProtocolIp
                && BinaryPrimitives.ReadInt32LittleEndian(control[12..]) == PacketInfo
                && length >= ControlHeaderSize + PacketInfoSize)
            {
                address = BinaryPrimitives.ReadUInt32BigEndian(control[(ControlHeaderSize + 8)..]);
                return true;
            }

            control = control[((length + 7) & ~7)..];
        }

        address = 0;
        return false;
    }

    /// <param name="IdleUntil">When a scheduled session begins its next fetch; null while one runs.</param>
    private record struct Transfer(ClientConnection Connection, uint Address, TimeSpan Started, AbandonPlan Plan, TimeSpan? IdleUntil = null);

    private enum AbandonPlan
    {
        None,
        Restart,
        Vanish,
    }
}
