using System.Net;

namespace Anon.Protocol;

/// <summary>
/// The gateway's side of the protocol for every client at once, without I/O: the caller hands in
/// each datagram with its source address and the time, and sends what comes back.
/// </summary>
/// <remarks>
/// <para>Inputs: <see cref="HandleDatagram"/> and <see cref="HandleTimeout"/>. Outputs: the answer
/// that <see cref="HandleDatagram"/> writes (at most one datagram, always to the datagram's source),
/// retransmissions from <see cref="PollTransmit"/>, the next deadline from <see cref="PollTimeout"/>,
/// and lifecycle events from <see cref="PollEvent"/>.</para>
/// <para>The handshake is stateless (SYN cookies, RFC 4987 §3.6): a SYN is answered from the cookie
/// generator alone, and a connection exists only once a handshake ACK echoes a valid cookie. So the
/// gateway sends no data to an address that has not proven it receives there, and a SYN|ACK lost on
/// the way is recovered by the client sending its SYN again.</para>
/// </remarks>
public sealed class GatewayEndpoint
{
    private readonly GatewayOptions _options;
    private readonly ISynCookieGenerator _cookies;
    private readonly Dictionary<SocketAddress, GatewayConnection> _connections = [];
    private readonly SourceRateLimiter? _newConnectionLimit;

    // One timer queue for all connections. A connection has at most one live entry: re-arming to a
    // later time leaves the entry in place and it is re-queued when it comes due (see HandleTimeout),
    // so an acknowledgment costs no queue operation.
    private readonly PriorityQueue<GatewayConnection, TimeSpan> _timers = new();
    private readonly Queue<GatewayConnection> _retransmissions = new();
    private readonly Queue<GatewayEvent> _events = new();
    // The content new connections start from: swapped whole by SetContent, from any thread.
    private ContentSnapshot _content;

    // The round-trip estimate of the last connection that completed. A new connection starts from
    // it (RFC 9040 §5.1) rather than from the initial RTO: the stateless handshake gives the gateway
    // no sample of its own, and every client sits on the same local network.
    private RoundTripEstimate? _sharedEstimate;

    public GatewayEndpoint(ReadOnlyMemory<byte> content, ISynCookieGenerator cookies, GatewayOptions? options = null)
    {
        _options = options ?? GatewayOptions.Default;
        _options.Retransmission.Validate();
        _cookies = cookies;
        _content = new ContentSnapshot(content);
        if (_options.NewConnectionsPerSecondPerSource > 0)
        {
            _newConnectionLimit = new SourceRateLimiter(_options.NewConnectionsPerSecondPerSource, _options.NewConnectionBurstPerSource);
        }
    }

    public GatewayStatistics Statistics { get; } = new();

    public int ConnectionCount => _connections.Count;

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
    public bool HasConnection(SocketAddress peer) => _connections.ContainsKey(peer);

    /// <summary>
    /// Replaces the content served to connections opened from now on; open connections keep the
    /// snapshot they started with.
    /// </summary>
    /// <remarks>Safe to call from any thread, such as a background refresh of the page.</remarks>
    public void SetContent(ReadOnlyMemory<byte> content) => Volatile.Write(ref _content, new ContentSnapshot(content));

    /// <summary>
    /// Processes one datagram from <paramref name="source"/> and writes the answer, if any, into
    /// <paramref name="answer"/> (at least <see cref="Segments.MaxDatagram"/> bytes).
    /// </summary>
    /// <param name="source">The sender. Read during the call only; it may be a reused buffer.</param>
    /// <returns>The answer's length, to be sent to <paramref name="source"/>; 0 for no answer.</returns>
    public int HandleDatagram(SocketAddress source, ReadOnlySpan<byte> datagram, TimeSpan now, Span<byte> answer)
    {
        Statistics.DatagramsReceived++;
        if (!SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            return Drop(source, DropReason.TooShort, now);
        }

        if (header.HasReservedBits)
        {
            Statistics.ReservedBitsSet++;
        }

        if (datagram.Length > SegmentHeader.Size)
        {
            // Clients send headers only: a payload means a broken or hostile sender.
            return Drop(source, DropReason.ClientPayload, now);
        }

        int length = header.ControlFlags switch
        {
            SegmentFlags.Syn => AnswerSyn(source, header, now, answer),
            SegmentFlags.Ack or (SegmentFlags.Ack | SegmentFlags.Fin) => HandleAck(source, header, now, answer),
            SegmentFlags.Fin => HandleBareFin(source, now),
            _ => Drop(source, DropReason.UnexpectedFlags, now),
        };
        if (length > 0)
        {
            CountSent(length);
        }

        return length;
    }

    /// <summary>Fires every timer due at <paramref name="now"/>; the retransmissions then wait in <see cref="PollTransmit"/>.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        while (_timers.TryPeek(out GatewayConnection? connection, out TimeSpan due) && due <= now)
        {
            _timers.Dequeue();
            if (connection.IsClosed || connection.ScheduledAt != due)
            {
                continue; // stale entry
            }

            connection.ScheduledAt = null;
            if (connection.RetransmitAt > now)
            {
                Schedule(connection); // re-armed since this entry was queued
            }
            else if (connection.TryRetransmit(now))
            {
                Statistics.Retransmissions++;
                _retransmissions.Enqueue(connection);
                Schedule(connection);
            }
            else
            {
                Statistics.ConnectionsTimedOut++;
                Close(connection, GatewayEventKind.TimedOut, now);
            }
        }
    }

    /// <summary>Writes the next retransmission due, if any, and says where it goes.</summary>
    public bool PollTransmit(Span<byte> buffer, out int length, out SocketAddress? destination)
    {
        while (_retransmissions.TryDequeue(out GatewayConnection? connection))
        {
            if (connection.IsClosed)
            {
                continue;
            }

            length = connection.WriteSegment(buffer);
            destination = connection.Peer;
            CountSent(length);
            return true;
        }

        length = 0;
        destination = null;
        return false;
    }

    /// <summary>The earliest time <see cref="HandleTimeout"/> has work to do; null when nothing waits. It may come early, never late.</summary>
    public TimeSpan? PollTimeout() => _timers.TryPeek(out _, out TimeSpan due) ? due : null;

    public bool PollEvent(out GatewayEvent gatewayEvent) => _events.TryDequeue(out gatewayEvent);

    private int AnswerSyn(SocketAddress source, in SegmentHeader syn, TimeSpan now, Span<byte> answer)
    {
        // Stateless: the same SYN always gets the same SYN|ACK (within a cookie slot), whether it is
        // new, a retransmission, or from a client that restarted with a new ISN.
        Statistics.SynsAnswered++;
        SequenceNumber isn = _cookies.Issue(source, syn.Sequence, now);
        new SegmentHeader(isn, syn.Sequence + 1, SegmentFlags.Syn | SegmentFlags.Ack).WriteTo(answer);
        return SegmentHeader.Size;
    }

    private int HandleAck(SocketAddress source, in SegmentHeader header, TimeSpan now, Span<byte> answer)
    {
        if (_connections.TryGetValue(source, out GatewayConnection? connection) && connection.Owns(header))
        {
            switch (connection.HandleAck(header, now))
            {
                case AckOutcome.Advanced:
                    Schedule(connection);
                    return connection.WriteSegment(answer);
                case AckOutcome.Completed:
                    Complete(connection, now);
                    return 0;
                case AckOutcome.AwaitingFin:
                    return 0;
                default:
                    Statistics.DuplicateAcks++;
                    return 0;
            }
        }

        // Not for an open connection: it opens one if it is a handshake ACK echoing a valid cookie
        // (seq = client ISN + 1, ack = gateway ISN + 1).
        if (header.IsFin || !_cookies.Verify(source, header.Sequence - 1, header.Acknowledgment - 1, now))
        {
            return Refuse(connection, connection is null ? DropReason.NoConnection : DropReason.AckOutOfRange, now);
        }

        if (connection is not null)
        {
            Statistics.ConnectionsReplaced++;
            Close(connection, GatewayEventKind.Replaced, now);
        }
        else if (_connections.Count >= _options.MaximumConnections)
        {
            // Refusals are counted, not reported one by one: a flood of them must not flood the log.
            return Refuse(null, DropReason.TableFull, now);
        }
        else if (_newConnectionLimit is { } limit && !limit.TryAcquire(source, now))
        {
            return Refuse(null, DropReason.RateLimited, now);
        }

        connection = new GatewayConnection(
            Clone(source), header.Sequence - 1, header.Acknowledgment - 1, Volatile.Read(ref _content).Content, _options.Retransmission, _sharedEstimate, now);
        _connections.Add(connection.Peer, connection);
        Statistics.ConnectionsOpened++;
        _events.Enqueue(new GatewayEvent(GatewayEventKind.Opened, connection.Peer, TimeSpan.Zero, 0, 0));
        Schedule(connection);
        return connection.WriteSegment(answer);
    }

    private int HandleBareFin(SocketAddress source, TimeSpan now)
    {
        if (!_connections.TryGetValue(source, out GatewayConnection? connection))
        {
            return Refuse(null, DropReason.NoConnection, now);
        }

        if (!connection.HandleBareFin())
        {
            return Refuse(connection, DropReason.FinWithoutAck, now);
        }

        Complete(connection, now);
        return 0;
    }

    private void Complete(GatewayConnection connection, TimeSpan now)
    {
        Statistics.ConnectionsCompleted++;
        _sharedEstimate = connection.RoundTripEstimate ?? _sharedEstimate;
        Close(connection, GatewayEventKind.Completed, now);
    }

    /// <summary>Drops a datagram from <paramref name="source"/>, reported once per connection when it has one.</summary>
    private int Drop(SocketAddress source, DropReason reason, TimeSpan now) =>
        Refuse(_connections.GetValueOrDefault(source), reason, now);

    /// <summary>
    /// Counts a dropped datagram under its reason and, when it came from an open connection's client,
    /// reports the reason the first time that connection meets it. Datagrams outside any connection
    /// are only counted: a flood of them must not flood the log.
    /// </summary>
    private int Refuse(GatewayConnection? connection, DropReason reason, TimeSpan now)
    {
        Statistics.Drops.Add(reason);
        ulong bit = 1UL << (int)reason;
        if (connection is not null && (connection.RefusalsReported & bit) == 0)
        {
            connection.RefusalsReported |= bit;
            _events.Enqueue(new GatewayEvent(
                GatewayEventKind.Refused, connection.Peer, now - connection.OpenedAt,
                connection.BytesAcknowledged, connection.Retransmissions, reason, connection.Leniencies));
        }

        return 0;
    }

    private void CountSent(int length)
    {
        Statistics.DatagramsSent++;
        Statistics.PayloadBytesSent += length - SegmentHeader.Size;
    }

    private void Schedule(GatewayConnection connection)
    {
        TimeSpan due = connection.RetransmitAt;
        if (connection.ScheduledAt is { } scheduled && scheduled <= due)
        {
            return; // the live entry fires first and re-queues itself for the later time
        }

        connection.ScheduledAt = due; // an older, later entry becomes stale
        _timers.Enqueue(connection, due);
    }

    private void Close(GatewayConnection connection, GatewayEventKind reason, TimeSpan now)
    {
        connection.IsClosed = true;
        _connections.Remove(connection.Peer);
        _events.Enqueue(new GatewayEvent(
            reason, connection.Peer, now - connection.OpenedAt, connection.BytesAcknowledged, connection.Retransmissions,
            Leniencies: connection.Leniencies));
    }

    private static SocketAddress Clone(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }

    /// <summary>A reference, to swap atomically: a <see cref="ReadOnlyMemory{T}"/> is three fields and could be read half-written.</summary>
    private sealed record ContentSnapshot(ReadOnlyMemory<byte> Content);
}
