namespace Anon.Protocol;

/// <summary>
/// The gateway's side of the protocol for every client at once, without I/O: the caller hands in
/// each datagram with its source address and the time, and sends what comes back.
/// </summary>
/// <remarks>
/// <para>Inputs: <see cref="HandleDatagram"/>, <see cref="HandleTimeout"/> and
/// <see cref="SetContent"/>. Outputs: the answer that <see cref="HandleDatagram"/> writes (at most one
/// datagram, always to the datagram's source) with a <see cref="DatagramOutcome"/> that says what
/// became of the datagram, retransmissions from <see cref="PollTransmit"/>, the next deadline from
/// <see cref="PollTimeout"/>, and lifecycle events from <see cref="PollEvent"/>. One thread drives
/// it; nothing in it is safe to call from another.</para>
/// <para>The handshake is stateless (SYN cookies, RFC 4987 §3.6): a SYN is answered from the cookie
/// generator alone, and a connection exists only once a handshake ACK echoes a valid cookie. So the
/// gateway sends no data to an address that has not proven it receives there, and a SYN|ACK lost on
/// the way is recovered by the client sending its SYN again.</para>
/// </remarks>
public sealed class GatewayEndpoint
{
    private readonly GatewayOptions _options;
    private readonly ISynCookieGenerator _cookies;
    private readonly Dictionary<PeerAddress, GatewayConnection> _connections = [];
    private readonly SourceRateLimiter? _newConnectionLimit;
    private readonly TimerQueue<GatewayConnection> _timers = new();
    private readonly Queue<GatewayConnection> _retransmissions = new();
    private readonly Queue<GatewayEvent> _events = new();

    // The content new connections start from; open connections keep the one they started with.
    private ReadOnlyMemory<byte> _content;

    // The round-trip estimate of the last connection that completed. A new connection starts from
    // it (RFC 9040 §5.1) rather than from the initial RTO: the stateless handshake gives the gateway
    // no sample of its own, and every client sits on the same local network.
    private RoundTripEstimate? _sharedEstimate;

    private bool _accepting = true;

    public GatewayEndpoint(ReadOnlyMemory<byte> content, ISynCookieGenerator cookies, GatewayOptions? options = null)
    {
        _options = options ?? GatewayOptions.Default;
        _options.Retransmission.Validate();
        _cookies = cookies;
        _content = content;
        if (_options.NewConnectionsPerSecondPerSource > 0)
        {
            _newConnectionLimit = new SourceRateLimiter(_options.NewConnectionsPerSecondPerSource, _options.NewConnectionBurstPerSource);
        }
    }

    private GatewayStatistics _statistics;

    /// <summary>The running totals, as a copy.</summary>
    public GatewayStatistics Statistics => _statistics;

    public int ConnectionCount => _connections.Count;

    /// <summary>The most connections open at once since the endpoint began: how close the table came to its bound.</summary>
    public int PeakConnectionCount { get; private set; }

    /// <summary>Connections with a live timer: one each while it waits for an acknowledgment.</summary>
    public int ArmedTimers => _timers.Count;

    /// <summary>Entries in the timer queue, stale ones included (they leave when they come due): for a soak's check that nothing piles up.</summary>
    public int TimerQueueEntries => _timers.QueuedEntries;

    /// <summary>The round-trip estimate new connections start from: the last completed connection's.</summary>
    public RoundTripEstimate? SharedRoundTripEstimate => _sharedEstimate;

    /// <summary>
    /// Adds a view of each open connection, at most <paramref name="limit"/> of them, to
    /// <paramref name="destination"/>, for a status page. Allocates; call it now and then, not per
    /// datagram. (<see cref="ConnectionCount"/> gives how many are open in all.)
    /// </summary>
    public void CopyConnections(ICollection<ConnectionView> destination, int limit = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(destination);
        foreach (GatewayConnection connection in _connections.Values.Take(limit))
        {
            destination.Add(new ConnectionView(
                connection.Peer, connection.OpenedAt, connection.BytesAcknowledged, connection.ContentLength,
                connection.Retransmissions, connection.RoundTripEstimate?.Smoothed));
        }
    }

    /// <summary>True when <paramref name="peer"/> has an open connection.</summary>
    public bool HasConnection(PeerAddress peer) => _connections.ContainsKey(peer);

    /// <summary>False once <see cref="StopAccepting"/> was called.</summary>
    public bool IsAccepting => _accepting;

    /// <summary>When a SYN was last answered; a handshake ACK for it may still come (<see cref="StopAccepting"/>).</summary>
    public TimeSpan? LastSynAnsweredAt { get; private set; }

    /// <summary>
    /// Answers no more SYNs, for a stop that lets the transfers in flight finish (a drain): each new
    /// client's retry of its SYN reaches the next gateway on the port (<see cref="DropReason.Draining"/>).
    /// Open connections go on, and so do handshakes this gateway already answered: their cookies are
    /// its own, and a gateway started after it, with a key of its own, could not take them.
    /// </summary>
    public void StopAccepting() => _accepting = false;

    /// <summary>Replaces the content served to connections opened from now on; open connections keep the content they started with.</summary>
    public void SetContent(ReadOnlyMemory<byte> content) => _content = content;

    /// <summary>
    /// Processes one datagram from <paramref name="source"/> and writes the answer, if any, into
    /// <paramref name="answer"/> (at least <see cref="Segments.MaxDatagram"/> bytes).
    /// </summary>
    /// <returns>What became of the datagram; its answer, if any, goes to <paramref name="source"/>.</returns>
    public DatagramOutcome HandleDatagram(PeerAddress source, ReadOnlySpan<byte> datagram, TimeSpan now, Span<byte> answer)
    {
        _statistics.DatagramsReceived++;
        GatewayConnection? connection = _connections.GetValueOrDefault(source);
        if (!SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            return Drop(connection, DropReason.TooShort, now, null);
        }

        if (header.HasReservedBits)
        {
            _statistics.ReservedBitsSet++;
        }

        if (datagram.Length > SegmentHeader.Size)
        {
            // Clients send headers only: a payload means a broken or hostile sender.
            return Drop(connection, DropReason.ClientPayload, now, header);
        }

        DatagramOutcome outcome = header.ControlFlags switch
        {
            SegmentFlags.Syn => AnswerSyn(source, connection, header, now, answer),
            SegmentFlags.Ack or (SegmentFlags.Ack | SegmentFlags.Fin) => HandleAck(source, connection, header, now, answer),
            SegmentFlags.Fin => HandleBareFin(connection, header, now),
            _ => Drop(connection, DropReason.UnexpectedFlags, now, header),
        };
        if (outcome.HasAnswer)
        {
            CountSent(outcome.AnswerLength);
        }

        return outcome;
    }

    /// <summary>Fires every timer due at <paramref name="now"/>; the retransmissions then wait in <see cref="PollTransmit"/>.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        while (_timers.TryTakeDue(now, out GatewayConnection connection))
        {
            if (connection.RetransmitAt > now)
            {
                _timers.Arm(connection, connection.RetransmitAt); // acknowledged since its entry was queued
            }
            else if (connection.TryRetransmit(now))
            {
                _statistics.Retransmissions++;
                _retransmissions.Enqueue(connection);
                _timers.Arm(connection, connection.RetransmitAt);
            }
            else if (connection.IsClosing)
            {
                _statistics.ClosesUnconfirmed++;
                connection.Abandon();
                Close(connection, GatewayEventKind.CloseUnconfirmed, now);
            }
            else
            {
                _statistics.ConnectionsTimedOut++;
                connection.Abandon();
                Close(connection, GatewayEventKind.TimedOut, now);
            }
        }
    }

    /// <summary>Writes the next retransmission due, if any, into <paramref name="buffer"/> and says where it goes.</summary>
    public bool PollTransmit(Span<byte> buffer, out Transmit transmit)
    {
        while (_retransmissions.TryDequeue(out GatewayConnection? connection))
        {
            if (connection.State == GatewayConnectionState.Closed)
            {
                continue;
            }

            int length = connection.WriteSegment(buffer, out SegmentHeader header);
            CountSent(length);
            transmit = new Transmit(connection.Peer, header, length);
            return true;
        }

        transmit = default;
        return false;
    }

    /// <summary>The earliest time <see cref="HandleTimeout"/> has work to do; null when nothing waits. It may come early, never late.</summary>
    public TimeSpan? PollTimeout() => _timers.NextDeadline;

    public bool PollEvent(out GatewayEvent gatewayEvent) => _events.TryDequeue(out gatewayEvent);

    private DatagramOutcome AnswerSyn(PeerAddress source, GatewayConnection? connection, in SegmentHeader syn, TimeSpan now, Span<byte> answer)
    {
        if (!_accepting)
        {
            return Drop(connection, DropReason.Draining, now, syn);
        }

        // Stateless: the same SYN always gets the same SYN|ACK (within a cookie slot), whether it is
        // new, a retransmission, or from a client that restarted with a new ISN.
        _statistics.SynsAnswered++;
        LastSynAnsweredAt = now;
        SequenceNumber isn = _cookies.Issue(source, syn.Sequence, now);
        var synAck = new SegmentHeader(isn, syn.Sequence + 1, SegmentFlags.Syn | SegmentFlags.Ack);
        synAck.WriteTo(answer);
        return Answered(syn, synAck, SegmentHeader.Size, ofConnection: connection is not null);
    }

    private DatagramOutcome HandleAck(PeerAddress source, GatewayConnection? connection, in SegmentHeader header, TimeSpan now, Span<byte> answer)
    {
        if (connection is not null && connection.Owns(header))
        {
            switch (connection.HandleAck(header, now))
            {
                case AckOutcome.Advanced:
                    _timers.Arm(connection, connection.RetransmitAt);
                    return Segment(connection, header, answer);
                case AckOutcome.Completed:
                    Complete(connection, now);
                    return Taken(header);
                case AckOutcome.AwaitingFin:
                    return Taken(header);
                default:
                    _statistics.DuplicateAcks++;
                    return Taken(header);
            }
        }

        // Not for an open connection: it opens one if it is a handshake ACK echoing a valid cookie
        // (seq = client ISN + 1, ack = gateway ISN + 1).
        if (header.IsFin || !_cookies.Verify(source, header.Sequence - 1, header.Acknowledgment - 1, now))
        {
            return Drop(connection, connection is null ? DropReason.NoConnection : DropReason.AckOutOfRange, now, header);
        }

        if (connection is not null)
        {
            _statistics.ConnectionsReplaced++;
            connection.Abandon();
            Close(connection, GatewayEventKind.Replaced, now);
        }
        else if (_connections.Count >= _options.MaximumConnections)
        {
            // These drops are counted, not reported one by one: a flood of them must not flood the log.
            return Drop(null, DropReason.TableFull, now, header);
        }
        else if (_newConnectionLimit is { } limit && !limit.TryAcquire(source, now))
        {
            return Drop(null, DropReason.RateLimited, now, header);
        }

        connection = new GatewayConnection(
            source, header.Sequence - 1, header.Acknowledgment - 1, _content, _options.Retransmission, _sharedEstimate, now);
        _connections.Add(source, connection);
        PeakConnectionCount = Math.Max(PeakConnectionCount, _connections.Count);
        _statistics.ConnectionsOpened++;
        _events.Enqueue(new GatewayEvent(GatewayEventKind.Opened, source, TimeSpan.Zero, 0, 0));
        _timers.Arm(connection, connection.RetransmitAt);
        return Segment(connection, header, answer);
    }

    private DatagramOutcome HandleBareFin(GatewayConnection? connection, in SegmentHeader header, TimeSpan now)
    {
        if (connection is null)
        {
            return Drop(null, DropReason.NoConnection, now, header);
        }

        if (!connection.HandleBareFin())
        {
            return Drop(connection, DropReason.FinWithoutAck, now, header);
        }

        Complete(connection, now);
        return Taken(header);
    }

    private void Complete(GatewayConnection connection, TimeSpan now)
    {
        _statistics.ConnectionsCompleted++;
        _sharedEstimate = connection.RoundTripEstimate ?? _sharedEstimate;
        Close(connection, GatewayEventKind.Completed, now);
    }

    /// <summary>
    /// Counts a dropped datagram under its reason and, when it came from an open connection's client,
    /// reports the reason the first time that connection meets it. Datagrams outside any connection
    /// are only counted: a flood of them must not flood the log.
    /// </summary>
    private DatagramOutcome Drop(GatewayConnection? connection, DropReason reason, TimeSpan now, SegmentHeader? header)
    {
        _statistics.Drops.Add(reason);
        if (connection is not null && connection.DropReasonsReported.Add(reason))
        {
            _events.Enqueue(new GatewayEvent(
                GatewayEventKind.NewDropReason, connection.Peer, now - connection.OpenedAt,
                connection.BytesAcknowledged, connection.Retransmissions, reason, connection.Leniencies));
        }

        return new DatagramOutcome { Received = header, OfConnection = connection is not null, Dropped = reason };
    }

    /// <summary>A datagram of a connection taken without an answer.</summary>
    private static DatagramOutcome Taken(in SegmentHeader header) => new() { Received = header, OfConnection = true };

    /// <summary>A datagram of a connection answered with its segment in flight.</summary>
    private static DatagramOutcome Segment(GatewayConnection connection, in SegmentHeader header, Span<byte> answer)
    {
        int length = connection.WriteSegment(answer, out SegmentHeader segment);
        return Answered(header, segment, length, ofConnection: true);
    }

    private static DatagramOutcome Answered(in SegmentHeader received, in SegmentHeader answer, int length, bool ofConnection) =>
        new() { Received = received, Answer = answer, AnswerLength = length, OfConnection = ofConnection };

    private void CountSent(int length)
    {
        _statistics.DatagramsSent++;
        _statistics.PayloadBytesSent += length - SegmentHeader.Size;
    }

    private void Close(GatewayConnection connection, GatewayEventKind reason, TimeSpan now)
    {
        _timers.Cancel(connection);
        _connections.Remove(connection.Peer);
        _events.Enqueue(new GatewayEvent(
            reason, connection.Peer, now - connection.OpenedAt, connection.BytesAcknowledged, connection.Retransmissions,
            Leniencies: connection.Leniencies));
    }
}
