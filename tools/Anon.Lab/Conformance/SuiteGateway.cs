using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>How the suite's gateway ends the content.</summary>
public enum FinStyle
{
    /// <summary>The last segment carries ACK|FIN, as this project sends it.</summary>
    WithAck,

    /// <summary>The last segment carries FIN alone, as the spec's sample draws it.</summary>
    Bare,

    /// <summary>The data, then an empty ACK|FIN segment.</summary>
    SeparateWithAck,

    /// <summary>The data, then an empty FIN segment without ACK.</summary>
    SeparateBare,

    /// <summary>No FIN at all (a broken gateway).</summary>
    Never,
}

/// <summary>
/// How the suite's gateway behaves: the faults a case scripts, the readings of the spec other
/// gateways take, and, for the suite's own tests, the defects of a broken gateway. Applies to every
/// connection it serves.
/// </summary>
public sealed record GatewayScript
{
    /// <summary>The ISN of every connection; random per connection when null.</summary>
    public uint? Isn { get; init; }

    public FinStyle Fin { get; init; } = FinStyle.WithAck;

    /// <summary>The ack field stays the client's ISN + 1 instead of counting its ACKs.</summary>
    public bool ConstantAckField { get; init; }

    /// <summary>Data segments without the ACK flag.</summary>
    public bool DataWithoutAck { get; init; }

    /// <summary>
    /// The network's faults between each client and this gateway (a lost SYN, a segment sent twice...),
    /// applied to every datagram either way as it passes, each connection on its own.
    /// </summary>
    public IReadOnlyList<Fault> Faults { get; init; } = [];

    /// <summary>Before these segments, send the next one first (reordering on the way).</summary>
    public IReadOnlySet<int> SendNextFirst { get; init; } = new HashSet<int>();

    /// <summary>Datagrams to send before segment N, given the segment's seq and the client's next seq.</summary>
    public Func<int, uint, IEnumerable<byte[]>>? InjectBefore { get; init; }

    /// <summary>Before segment N, a datagram from another port: a copy of the segment with other bytes.</summary>
    public int? StrangerBefore { get; init; }

    /// <summary>Stop sending anything after this many segments (a gateway that stalls).</summary>
    public int? StallAfter { get; init; }

    /// <summary>Answer nothing at all.</summary>
    public bool Silent { get; init; }

    /// <summary>Of the data segments; short, so that the cases that lose one run quickly.</summary>
    public TimeSpan RetransmissionTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Of the SYN|ACK: RFC 6298 §2.1's initial 1 s, so that a SYN from a forged address gets few answers.</summary>
    public TimeSpan SynAckRetransmissionTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Sends of one packet again before giving up: 2 s of data retransmissions, 10 s of SYN|ACKs.</summary>
    public int MaximumRetransmissions { get; init; } = 10;

    /// <summary>Double the timeout at each retransmission of a packet (RFC 6298 §5.5); constant when false.</summary>
    public bool BackOff { get; init; }

    /// <summary>
    /// A SYN with a new ISN from an address whose transfer is in flight gets the old connection's
    /// ACK, TCP's challenge ACK (RFC 5961 §4), and ends that connection, as the RST a TCP client
    /// answers the challenge with would (this protocol has no RST); the client's SYN sent again then
    /// opens the new connection, one retransmission timeout later.
    /// </summary>
    public bool RestartAtSecondSyn { get; init; }

    // Defects of a broken gateway, for the suite's own tests.

    public bool NeverRetransmit { get; init; }

    /// <summary>Send the first segment right after the SYN|ACK.</summary>
    public bool DataBeforeHandshakeAck { get; init; }

    public int SegmentSize { get; init; } = Segments.MaxPayload;

    /// <summary>Answer a duplicate ACK with the segment in flight (the Sorcerer's Apprentice).</summary>
    public bool AnswerDuplicateAcks { get; init; }

    /// <summary>With <see cref="AnswerDuplicateAcks"/>: answer only one duplicate ACK in this many.</summary>
    public int AnswerOneDuplicateAckIn { get; init; } = 1;

    /// <summary>With <see cref="AnswerDuplicateAcks"/>: how long after the duplicate ACK the answer goes out.</summary>
    public TimeSpan DuplicateAckAnswerDelay { get; init; }

    /// <summary>Number the second and later segments one byte too far (the sample's ack=614 as a rule).</summary>
    public bool SkipAByte { get; init; }

    /// <summary>Keep sending the FIN after the client's ACK|FIN.</summary>
    public bool IgnoreFinAck { get; init; }

    /// <summary>Move on at any acknowledgment at or past the segment's end, even of bytes never sent.</summary>
    public bool AdvanceOnAnyAck { get; init; }

    /// <summary>Take the handshake ACK whatever its ack field holds.</summary>
    public bool AcceptAnyHandshakeAck { get; init; }

    /// <summary>Number the content from the ISN instead of ISN + 1.</summary>
    public bool DataFromIsn { get; init; }

    /// <summary>Answer only the first SYN of a handshake; a SYN sent again gets nothing.</summary>
    public bool IgnoreRepeatedSyn { get; init; }

    /// <summary>Forget a connection whose handshake ACK has not come within this time.</summary>
    public TimeSpan? HalfOpenLifetime { get; init; }

    /// <summary>Never send the segment with FIN again.</summary>
    public bool NeverRetransmitFin { get; init; }

    /// <summary>The segment with FIN, sent again, lacks the FIN flag.</summary>
    public bool RetransmitFinWithoutFlag { get; init; }

    /// <summary>Drop the connection at a second copy of the handshake ACK.</summary>
    public bool AbortOnRepeatedHandshakeAck { get; init; }

    /// <summary>Drop the connection at an ACK older than the segment in flight.</summary>
    public bool AbortOnStaleAck { get; init; }

    /// <summary>Ignore a SYN with a new ISN from an address it has a connection for, until that connection completes.</summary>
    public bool IgnoreNewSynFromKnownPeer { get; init; }

    /// <summary>Drop the connection at an acknowledgment of bytes never sent.</summary>
    public bool AbortOnAckBeyondSent { get; init; }

    /// <summary>Log only the SYNs received, none of the other datagrams.</summary>
    public bool LogOnlySyns { get; init; }

    /// <summary>One connection for all clients: a SYN from anyone replaces it.</summary>
    public bool SingleConnection { get; init; }

    /// <summary>Stop answering anything once a datagram shorter than the header came.</summary>
    public bool DieOnRunt { get; init; }

    /// <summary>Take any datagram with the SYN bit (SYN|FIN, ACK|SYN|FIN) as a new SYN, dropping the transfer in flight for it.</summary>
    public bool AnySynBitRestarts { get; init; }

    /// <summary>Log packets as "RECV seq=1 ack=2" instead of the spec's format.</summary>
    public bool MalformedLog { get; init; }

    /// <summary>
    /// The content of the first connections, one each, in order; every later one gets the content
    /// given to the gateway (a page that changes between two fetches, as a refresh changes it).
    /// </summary>
    public IReadOnlyList<byte[]> FirstContents { get; init; } = [];
}

/// <summary>One datagram in the suite gateway's record.</summary>
public sealed record Exchanged(bool FromClient, IPEndPoint Peer, Datagram Datagram, bool Lost = false);

/// <summary>
/// The suite's gateway: serves a page over UDP on 127.0.0.1, stop-and-wait, stateful, as its
/// <see cref="GatewayScript"/> says, and records every datagram for the cases to judge.
/// </summary>
public sealed class SuiteGateway : IDisposable
{
    private readonly Socket _socket;
    private readonly Socket _stranger;
    private readonly byte[] _content;
    private readonly GatewayScript _script;
    private readonly Dictionary<IPEndPoint, Connection> _connections = [];
    private readonly Dictionary<IPEndPoint, FaultyConnection> _network = [];
    private readonly FaultPlan _faults;
    private readonly List<Exchanged> _record = [];
    private readonly Lock _lock = new();
    private readonly Lock _handling = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _loop;
    private readonly List<(int Offset, int Length, bool Fin)> _segments;
    private int _connectionsOpened;
    private readonly StreamWriter? _log;
    private readonly List<(TimeSpan Due, Connection Connection, byte[] Datagram)> _delayed = [];
    private bool _dead;

    /// <param name="logPath">Where to log each datagram in the spec's format (or, broken, not); no log when null.</param>
    public SuiteGateway(byte[] content, GatewayScript script, int port = 0, string? logPath = null)
    {
        _content = content;
        _script = script;
        _faults = new FaultPlan(script.Faults);
        _log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
        _segments = Plan(content.Length, script);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = new Thread(Run) { IsBackground = true, Name = "suite gateway" };
        _loop.Start();
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    /// <summary>Every datagram so far, in order.</summary>
    public List<Exchanged> Exchanges
    {
        get
        {
            lock (_lock)
            {
                return [.. _record];
            }
        }
    }

    /// <summary>Connections closed by the client's ACK|FIN.</summary>
    public int Completed { get; private set; }

    /// <summary>
    /// Returns once every datagram already sent to the gateway has been handled: nothing waits in
    /// its socket and none is being handled. After a client has exited, its record is then whole.
    /// </summary>
    public void Settle()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            lock (_handling)
            {
                if (_socket.Available == 0)
                {
                    return;
                }
            }

            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Join();
        _socket.Dispose();
        _stranger.Dispose();
        _stop.Dispose();
        _log?.Dispose();
    }

    private static List<(int Offset, int Length, bool Fin)> Plan(int length, GatewayScript script)
    {
        var segments = new List<(int, int, bool)>();
        bool separate = script.Fin is FinStyle.SeparateWithAck or FinStyle.SeparateBare or FinStyle.Never;
        for (int offset = 0; offset < length || segments.Count == 0; offset += script.SegmentSize)
        {
            int size = Math.Min(script.SegmentSize, length - offset);
            bool last = offset + size >= length;
            segments.Add((offset, size, last && !separate));
            if (length == 0)
            {
                break;
            }
        }

        if (script.Fin is FinStyle.SeparateWithAck or FinStyle.SeparateBare && length > 0)
        {
            segments.Add((length, 0, true));
        }

        return segments;
    }

    private void Run()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            if (_socket.Poll(TimeSpan.FromMilliseconds(5), SelectMode.SelectRead))
            {
                lock (_handling) // taken before the datagram leaves the socket, so that Settle sees it somewhere
                {
                    int length;
                    try
                    {
                        length = _socket.ReceiveFrom(buffer, ref any);
                    }
                    catch (SocketException)
                    {
                        continue; // an ICMP error for an earlier send: the client has gone
                    }

                    var peer = (IPEndPoint)any;
                    byte[] raw = buffer.AsSpan(0, length).ToArray();
                    if (NetworkOf(peer).Pass(Way.ToGateway, raw, arrived => Handle(peer, arrived)).Lost && Datagram.Parse(raw, _clock.Elapsed) is { } lost)
                    {
                        lock (_lock)
                        {
                            _record.Add(new Exchanged(true, peer, lost, Lost: true));
                        }
                    }
                }
            }

            OnTimers();
        }
    }

    private void Handle(IPEndPoint peer, ReadOnlySpan<byte> raw)
    {
        Datagram? datagram = Datagram.Parse(raw, _clock.Elapsed);
        _dead |= datagram is null && _script.DieOnRunt;
        if (datagram is null || _dead)
        {
            return;
        }

        lock (_lock)
        {
            _record.Add(new Exchanged(true, peer, datagram));
        }

        Log(PacketDirection.Receive, datagram.Header);
        if (_script.Silent)
        {
            return;
        }

        _connections.TryGetValue(peer, out Connection? connection);
        bool opens = datagram.Header.IsSyn && (_script.AnySynBitRestarts || (!datagram.Header.IsAck && !datagram.Header.IsFin));
        if (opens)
        {
            bool newIsn = connection is not null && connection.ClientIsn != datagram.Seq;
            if (newIsn && _script.IgnoreNewSynFromKnownPeer && connection!.State != State.Closed)
            {
                return;
            }

            if (newIsn && _script.RestartAtSecondSyn && connection!.State == State.Established)
            {
                Send(connection, Datagram.Build(SequenceOf(connection, connection.Segment), connection.LastClientSeq + 1, SegmentFlags.Ack));
                _connections.Remove(peer);
                return;
            }

            if (connection is { State: State.Established } && newIsn && !_script.AnySynBitRestarts)
            {
                // A restarted client, or a forged SYN: the transfer in flight goes on until the new
                // handshake completes (its ACK acknowledges the new ISN + 1).
                connection.Replacement ??= NewConnection(peer, datagram.Seq);
                SendSynAck(connection.Replacement);
                return;
            }

            if (connection is null || newIsn)
            {
                if (_script.SingleConnection)
                {
                    _connections.Clear();
                }

                connection = NewConnection(peer, datagram.Seq);
                _connections[peer] = connection;
            }

            if ((++connection.SynsSeen > 1 && _script.IgnoreRepeatedSyn) || connection.State != State.SynReceived)
            {
                return;
            }

            SendSynAck(connection);
            if (_script.DataBeforeHandshakeAck)
            {
                connection.State = State.Established;
                SendSegment(connection, first: true);
            }

            return;
        }

        if (connection is null || datagram.Header.IsSyn)
        {
            return;
        }

        switch (connection.State)
        {
            case State.SynReceived when datagram.Header.IsAck && (datagram.Ack == connection.Isn + 1 || _script.AcceptAnyHandshakeAck):
                connection.State = State.Established;
                connection.LastClientSeq = datagram.Seq;
                SendSegment(connection, first: true);
                break;
            case State.Established when connection.Replacement is { } replacement && datagram.Header.IsAck && datagram.Ack == replacement.Isn + 1:
                _connections[peer] = replacement;
                replacement.State = State.Established;
                replacement.LastClientSeq = datagram.Seq;
                SendSegment(replacement, first: true);
                break;
            case State.Established when Aborts(connection, datagram):
                connection.State = State.Aborted;
                break;
            case State.Established:
                HandleAck(connection, datagram);
                break;
        }
    }

    private Connection NewConnection(IPEndPoint peer, uint clientIsn)
    {
        int opened = _connectionsOpened++;
        (byte[] content, List<(int, int, bool)> segments) = opened < _script.FirstContents.Count
            ? (_script.FirstContents[opened], Plan(_script.FirstContents[opened].Length, _script))
            : (_content, _segments);
        return new(peer, clientIsn, _script.Isn ?? (uint)Random.Shared.NextInt64(0, uint.MaxValue), _clock.Elapsed) { Content = content, Segments = segments };
    }

    /// <summary>Whether a broken gateway's strictness drops the connection at this datagram.</summary>
    private bool Aborts(Connection connection, Datagram datagram) =>
        datagram.Header.IsAck && (
            (_script.AbortOnRepeatedHandshakeAck && datagram.Seq == connection.ClientIsn + 1 && datagram.Ack == connection.Isn + 1)
            || (_script.AbortOnStaleAck && (int)(datagram.Ack - SequenceOf(connection, connection.Segment)) < 0)
            || (_script.AbortOnAckBeyondSent && (int)(datagram.Ack - EndOf(connection)) > 0));

    /// <summary>The furthest acknowledgment the segment in flight allows: its end, + 1 for a FIN.</summary>
    private uint EndOf(Connection connection)
    {
        (_, int length, bool fin) = connection.Segments[connection.Segment];
        return SequenceOf(connection, connection.Segment) + (uint)length + (fin ? 1u : 0u);
    }

    private void HandleAck(Connection connection, Datagram datagram)
    {
        (_, int length, bool fin) = connection.Segments[connection.Segment];
        uint end = SequenceOf(connection, connection.Segment) + (uint)length;
        bool acknowledges = datagram.Header.IsAck && (datagram.Ack == end || (fin && datagram.Ack == end + 1)
            || (_script.AdvanceOnAnyAck && (int)(datagram.Ack - end) > 0));
        if (!acknowledges)
        {
            if (_script.AnswerDuplicateAcks && datagram.Header.IsAck && ++connection.DuplicateAcksSeen % _script.AnswerOneDuplicateAckIn == 0)
            {
                if (_script.DuplicateAckAnswerDelay > TimeSpan.Zero)
                {
                    _delayed.Add((_clock.Elapsed + _script.DuplicateAckAnswerDelay, connection, BuildSegment(connection, connection.Segment, again: true)));
                }
                else
                {
                    SendSegment(connection, first: false);
                }
            }

            return;
        }

        if (fin && !datagram.Header.IsFin)
        {
            return; // a plain ACK of the FIN segment: its ACK|FIN is still to come
        }

        connection.LastClientSeq = datagram.Seq;
        if (fin)
        {
            if (!_script.IgnoreFinAck)
            {
                connection.State = State.Closed;
                Completed++;
            }

            return;
        }

        if (connection.Segment + 1 == connection.Segments.Count)
        {
            connection.State = State.Stalled; // the content is all acknowledged and no FIN is to come (FinStyle.Never)
            return;
        }

        connection.Segment++;
        if (_script.StallAfter is { } stall && connection.Segment >= stall)
        {
            connection.State = State.Stalled;
            return;
        }

        SendSegment(connection, first: true);
    }

    private void OnTimers()
    {
        TimeSpan now = _clock.Elapsed;
        for (int i = 0; i < _delayed.Count;) // most often none: nothing is made every 5 ms
        {
            if (_delayed[i].Due > now)
            {
                i++;
                continue;
            }

            (_, Connection late, byte[] datagram) = _delayed[i];
            _delayed.RemoveAt(i); // in the order they were queued
            Send(late, datagram);
        }

        if (_script.HalfOpenLifetime is { } lifetime)
        {
            foreach (Connection halfOpen in _connections.Values.Where(c => c.State == State.SynReceived && now - c.OpenedAt > lifetime).ToList())
            {
                _connections.Remove(halfOpen.Peer);
            }
        }

        foreach (Connection connection in _connections.Values)
        {
            if (connection.RetransmitAt > now || connection.State is State.Closed or State.Stalled or State.Aborted || _script.NeverRetransmit || _dead)
            {
                continue;
            }

            if (_script.NeverRetransmitFin && connection.State == State.Established && connection.Segments[connection.Segment].Fin)
            {
                continue;
            }

            if (++connection.Retransmissions > _script.MaximumRetransmissions)
            {
                connection.State = State.Stalled; // given up
                continue;
            }

            if (connection.State == State.SynReceived)
            {
                SendSynAck(connection);
            }
            else
            {
                SendSegment(connection, first: false);
            }
        }
    }

    private void SendSynAck(Connection connection)
    {
        byte[] synAck = Datagram.Build(connection.Isn, connection.ClientIsn + 1, SegmentFlags.Syn | SegmentFlags.Ack);
        connection.RetransmitAt = _clock.Elapsed + _script.SynAckRetransmissionTimeout;
        Send(connection, synAck);
    }

    private uint SequenceOf(Connection connection, int segment) =>
        connection.Isn + 1 + (uint)connection.Segments[segment].Offset + (_script.SkipAByte && segment > 0 ? 1u : 0u) - (_script.DataFromIsn ? 1u : 0u);

    private byte[] BuildSegment(Connection connection, int segment, bool again = false)
    {
        (int offset, int length, bool fin) = connection.Segments[segment];
        byte[] payload = connection.Content.AsSpan(offset, length).ToArray();
        SegmentFlags flags = _script.DataWithoutAck ? SegmentFlags.None : SegmentFlags.Ack;
        if (fin && !(again && _script.RetransmitFinWithoutFlag))
        {
            flags = _script.Fin is FinStyle.Bare or FinStyle.SeparateBare ? SegmentFlags.Fin : flags | SegmentFlags.Fin;
        }

        uint ack = _script.ConstantAckField ? connection.ClientIsn + 1 : connection.LastClientSeq + 1;
        return Datagram.Build(SequenceOf(connection, segment), ack, flags, payload);
    }

    private void SendSegment(Connection connection, bool first)
    {
        int segment = connection.Segment;
        if (first)
        {
            connection.Retransmissions = 0;
        }

        connection.RetransmitAt = _clock.Elapsed + (_script.BackOff ? _script.RetransmissionTimeout * (1L << Math.Min(connection.Retransmissions, 30)) : _script.RetransmissionTimeout);
        if (first)
        {
            foreach (byte[] injected in _script.InjectBefore?.Invoke(segment, SequenceOf(connection, segment)) ?? [])
            {
                Send(connection, injected);
            }

            if (_script.StrangerBefore == segment)
            {
                byte[] forged = BuildSegment(connection, segment);
                Array.Fill(forged, (byte)'X', SegmentHeader.Size, forged.Length - SegmentHeader.Size);
                _stranger.SendTo(forged, connection.Peer);
            }

            if (_script.SendNextFirst.Contains(segment) && segment + 1 < connection.Segments.Count)
            {
                Send(connection, BuildSegment(connection, segment + 1));
            }
        }

        Send(connection, BuildSegment(connection, segment, again: !first));
    }

    /// <summary>Sends through the network of that client's connection, faulty as the script says: a datagram it loses is recorded as lost.</summary>
    private void Send(Connection connection, byte[] datagram)
    {
        if (NetworkOf(connection.Peer).Pass(Way.ToClient, datagram, leaving => SendNow(connection, leaving)).Lost)
        {
            Record(connection, datagram, lost: true);
        }
    }

    private FaultyConnection NetworkOf(IPEndPoint peer)
    {
        if (!_network.TryGetValue(peer, out FaultyConnection? network))
        {
            network = new FaultyConnection(_faults);
            _network[peer] = network;
        }

        return network;
    }

    private void SendNow(Connection connection, byte[] datagram)
    {
        Record(connection, datagram, lost: false);
        if (SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            Log(PacketDirection.Send, header);
        }

        try
        {
            _socket.SendTo(datagram, connection.Peer);
        }
        catch (SocketException)
        {
            // the client has gone: its port answers unreachable
        }
    }

    private void Record(Connection connection, byte[] datagram, bool lost)
    {
        lock (_lock)
        {
            _record.Add(new Exchanged(false, connection.Peer, Datagram.Parse(datagram, _clock.Elapsed)!, lost));
        }
    }

    private void Log(PacketDirection direction, SegmentHeader header)
    {
        if (_log is not null && !(_script.LogOnlySyns && !(direction == PacketDirection.Receive && header.IsSyn)))
        {
            string line = PacketLogLine.Format(direction, header);
            _log.WriteLine(_script.MalformedLog ? BrokenLog.Line(line) : line);
        }
    }

    private enum State
    {
        SynReceived,
        Established,
        Stalled,
        Closed,

        /// <summary>Dropped by a broken gateway's strictness, not completed.</summary>
        Aborted,
    }

    private sealed class Connection(IPEndPoint peer, uint clientIsn, uint isn, TimeSpan openedAt)
    {
        public IPEndPoint Peer { get; } = peer;

        public TimeSpan OpenedAt { get; } = openedAt;

        /// <summary>A new connection from the same address, half open while this one goes on.</summary>
        public Connection? Replacement { get; set; }

        public uint ClientIsn { get; } = clientIsn;

        public uint Isn { get; } = isn;

        public State State { get; set; } = State.SynReceived;

        public int Segment { get; set; }

        public uint LastClientSeq { get; set; }

        public TimeSpan RetransmitAt { get; set; } = TimeSpan.MaxValue;

        public int Retransmissions { get; set; }

        public int SynsSeen { get; set; }

        public int DuplicateAcksSeen { get; set; }

        /// <summary>What this connection serves, and in which segments.</summary>
        public required byte[] Content { get; init; }

        public required List<(int Offset, int Length, bool Fin)> Segments { get; init; }
    }
}
