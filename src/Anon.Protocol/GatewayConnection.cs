namespace Anon.Protocol;

/// <summary>
/// The sending side of one established connection: stop-and-wait, one segment in flight.
/// </summary>
internal sealed class GatewayConnection
{
    private readonly SequenceNumber _isn;
    private readonly ReadOnlyMemory<byte> _content;
    private readonly RtoEstimator _rto;
    private readonly int _maximumRetransmissions;

    private int _segmentLength;
    private SequenceNumber _lastClientSequence;
    private TimeSpan _sentAt;
    private int _segmentRetransmissions;

    public GatewayConnection(
        PeerAddress peer,
        SequenceNumber clientIsn,
        SequenceNumber isn,
        ReadOnlyMemory<byte> content,
        RetransmissionPolicy policy,
        RoundTripEstimate? sharedEstimate,
        TimeSpan now)
    {
        Peer = peer;
        ClientIsn = clientIsn;
        _isn = isn;
        _content = content;
        _rto = new RtoEstimator(policy, sharedEstimate);
        _maximumRetransmissions = policy.MaximumRetransmissions;
        _lastClientSequence = clientIsn + 1;
        OpenedAt = now;
        StartSegment(now);
    }

    public PeerAddress Peer { get; }

    public GatewayConnectionState State { get; private set; } = GatewayConnectionState.Sending;

    public SequenceNumber ClientIsn { get; }

    public TimeSpan OpenedAt { get; }

    /// <summary>The length of the content this connection serves.</summary>
    public int ContentLength => _content.Length;

    /// <summary>Content bytes the client has acknowledged; the segment in flight starts here.</summary>
    public int BytesAcknowledged { get; private set; }

    public int Retransmissions { get; private set; }

    /// <summary>This connection's round-trip estimate, for the next ones to start from.</summary>
    public RoundTripEstimate? RoundTripEstimate => _rto.Estimate;

    /// <summary>When the segment in flight is due to be sent again.</summary>
    public TimeSpan RetransmitAt { get; private set; }

    /// <summary>The reasons already reported for this connection's dropped datagrams (a field: the set is a value).</summary>
#pragma warning disable CA1051
    public DropReasonSet DropReasonsReported;
#pragma warning restore CA1051

    /// <summary>The departures from our wire this connection's client used and that were accepted.</summary>
    public PeerLeniency Leniencies { get; private set; }

    /// <summary>Every byte has been sent: the segment in flight is the last, with the FIN, or a plain ACK acknowledged it.</summary>
    public bool IsClosing => IsLastSegment;

    private SequenceNumber SegmentSequence => _isn + 1 + BytesAcknowledged;

    private SequenceNumber SegmentEnd => SegmentSequence + _segmentLength;

    private bool IsLastSegment => BytesAcknowledged + _segmentLength == _content.Length;

    /// <summary>
    /// True when <paramref name="header"/> is an acknowledgment this connection should judge: its ack
    /// lies between the handshake and the end of the segment in flight. A handshake ACK from a new ISN
    /// at the same address is not one, so that a restarted client can replace its old connection.
    /// </summary>
    public bool Owns(in SegmentHeader header)
    {
        int ackOffset = header.Acknowledgment - (_isn + 1);
        if (ackOffset < 0 || header.Acknowledgment > SegmentEnd + (IsLastSegment ? 1 : 0))
        {
            return false;
        }

        // ack = ISN + 1 without FIN is a handshake ACK: ours only if it carries our client's ISN.
        return ackOffset > 0 || header.IsFin || header.Sequence - 1 == ClientIsn;
    }

    /// <summary>Writes the segment in flight, header and payload; returns its length.</summary>
    public int WriteSegment(Span<byte> destination, out SegmentHeader header)
    {
        var flags = SegmentFlags.Ack | (IsLastSegment ? SegmentFlags.Fin : SegmentFlags.None);
        // The ack field is the client's last sequence number + 1, as in the spec's sample (PROTOCOL.md).
        header = new SegmentHeader(SegmentSequence, _lastClientSequence + 1, flags);
        header.WriteTo(destination);
        _content.Span.Slice(BytesAcknowledged, _segmentLength).CopyTo(destination[SegmentHeader.Size..]);
        return SegmentHeader.Size + _segmentLength;
    }

    /// <summary>Judges an acknowledgment that <see cref="Owns"/> this connection.</summary>
    public AckOutcome HandleAck(in SegmentHeader header, TimeSpan now)
    {
        // A TCP habit: the FIN takes one sequence number (RFC 9293 §3.4), so the client acknowledges
        // the last segment with its end + 1. Unambiguous: nothing else lies there (PROTOCOL.md).
        bool finCounted = IsLastSegment && header.Acknowledgment == SegmentEnd + 1;
        if (header.Acknowledgment != SegmentEnd && !finCounted)
        {
            // An acknowledgment of something already acknowledged. It never triggers a
            // retransmission: that is the Sorcerer's Apprentice (RFC 1123 §4.2.3.1); the timer does.
            return AckOutcome.Duplicate;
        }

        if (IsLastSegment && !header.IsFin)
        {
            // The last segment carries FIN and the transfer completes with the client's ACK|FIN
            // (PROTOCOL.md "Close"). A plain ACK of it first (a TCP habit) is taken as it is: the
            // client has every byte; its FIN is still to come. With empty content the plain ACK's
            // ack equals the handshake ACK's, so only one that counts the FIN says so.
            if (_segmentLength > 0 || finCounted)
            {
                State = GatewayConnectionState.AwaitingFin;
                Leniencies |= PeerLeniency.PlainAckBeforeFin;
                return AckOutcome.AwaitingFin;
            }

            return AckOutcome.Duplicate;
        }

        if (!IsLastSegment && header.IsFin)
        {
            return AckOutcome.Duplicate;
        }

        if (finCounted)
        {
            Leniencies |= PeerLeniency.FinTakesSequenceNumber;
        }

        if (_segmentRetransmissions == 0)
        {
            _rto.AddSample(now - _sentAt); // Karn's rule: only segments sent once (RFC 6298 §3).
        }

        _lastClientSequence = header.Sequence;
        BytesAcknowledged += _segmentLength;
        if (header.IsFin)
        {
            State = GatewayConnectionState.Closed;
            return AckOutcome.Completed;
        }

        StartSegment(now);
        return AckOutcome.Advanced;
    }

    /// <summary>
    /// Judges a FIN without the ACK flag. It carries no acknowledgment, whatever its ack field holds
    /// (spec: ACK "indicates that the value of Acknowledgment Number field is valid"); it closes the
    /// connection only when a plain ACK already acknowledged the last segment.
    /// </summary>
    public bool HandleBareFin()
    {
        if (State != GatewayConnectionState.AwaitingFin)
        {
            return false;
        }

        State = GatewayConnectionState.Closed;
        BytesAcknowledged += _segmentLength;
        Leniencies |= PeerLeniency.ClosedWithBareFin;
        return true;
    }

    /// <summary>The retransmission timer expired: send again, or give up past the bound.</summary>
    public bool TryRetransmit(TimeSpan now)
    {
        if (_segmentRetransmissions >= _maximumRetransmissions)
        {
            return false;
        }

        _segmentRetransmissions++;
        Retransmissions++;
        _rto.BackOff();
        _sentAt = now;
        RetransmitAt = now + _rto.Current;
        return true;
    }

    /// <summary>The connection ends without completing: given up, or replaced by a new handshake.</summary>
    public void Abandon() => State = GatewayConnectionState.Closed;

    private void StartSegment(TimeSpan now)
    {
        _segmentLength = Math.Min(Segments.MaxPayload, _content.Length - BytesAcknowledged);
        _segmentRetransmissions = 0;
        _sentAt = now;
        RetransmitAt = now + _rto.Current;
    }
}

/// <summary>Where a gateway connection is; it opens in <see cref="Sending"/>, once the handshake ACK echoed a valid cookie.</summary>
internal enum GatewayConnectionState
{
    /// <summary>A segment is in flight, awaiting its acknowledgment (the last one carries FIN).</summary>
    Sending,

    /// <summary>A plain ACK acknowledged the last segment: the client has every byte; its FIN, with or without ACK, closes.</summary>
    AwaitingFin,

    /// <summary>Completed, given up or replaced: it takes nothing more and is out of the endpoint's table.</summary>
    Closed,
}

internal enum AckOutcome
{
    /// <summary>The segment in flight was acknowledged; the next one is ready to send.</summary>
    Advanced,

    /// <summary>The FIN was acknowledged with FIN|ACK: the transfer is complete.</summary>
    Completed,

    /// <summary>Nothing new: ignore it.</summary>
    Duplicate,

    /// <summary>A plain ACK of the last segment: every byte arrived; the client's FIN is still to come.</summary>
    AwaitingFin,
}
