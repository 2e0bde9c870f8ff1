using System.Buffers;

namespace Anon.Protocol;

/// <summary>
/// The client's side of one transfer, without I/O: handshake, then receive and acknowledge each
/// segment in order until FIN (spec "This is the protocol you will implement"; PROTOCOL.md).
/// </summary>
/// <remarks>
/// Inputs: <see cref="HandleDatagram"/> (datagrams from the gateway only: the caller's socket is
/// connected to it) and <see cref="HandleTimeout"/>. Outputs: the answer written by
/// <see cref="HandleDatagram"/>, timer-driven sends from <see cref="PollTransmit"/> (the first SYN
/// and retransmissions), <see cref="PollTimeout"/>, and <see cref="PollNewDropReason"/> (each kind of
/// datagram dropped, once per transfer, for the log). <see cref="HandleUnreachable"/> takes the
/// socket's word that nothing listens at the gateway's port.
/// </remarks>
public sealed class ClientConnection
{
    private readonly ClientOptions _options;
    private readonly Func<SequenceNumber> _newInitialSequence;
    private SequenceNumber _isn;
    private readonly RtoEstimator _rto;
    private readonly ArrayBufferWriter<byte> _content = new(16 * 1024);

    private SequenceNumber _gatewayIsn;
    private SequenceNumber _expectedSequence; // next content byte's sequence number
    private SequenceNumber _nextSequence;     // our seq for the next acknowledgment we send
    private SegmentHeader _lastAnswer;        // what a duplicate from the gateway gets again
    private bool _transmitPending;            // _lastAnswer is due to be sent by PollTransmit
    private bool _retransmitted;              // a timer sent again; read for the SYN only, whose answer then gives no RTT sample (Karn)
    private TimeSpan _sentAt;
    private TimeSpan? _retransmitAt;
    private TimeSpan _idleDeadline;
    private TimeSpan? _fallbackAt;           // Established: when a new handshake starts if no segment has come
    private TimeSpan? _handshakeBudgetEnd;   // after a new handshake: when it must have brought data
    private TimeSpan? _lingerDeadline;
    private DropReasonSet _dropReasonsMet;      // every reason a datagram was dropped for in this transfer
    private DropReasonSet _dropReasonsUnpolled; // of those, the ones PollNewDropReason has not yet yielded
    private DropReason _dropped; // of the datagram being handled

    /// <param name="initialSequence">Our ISN: random in normal use (PROTOCOL.md "Handshake").</param>
    /// <param name="now">The time of the first SYN, which <see cref="PollTransmit"/> yields at once.</param>
    /// <param name="newInitialSequence">
    /// The ISN of each new handshake (<see cref="ClientOptions.HandshakeFallback"/>): random in normal
    /// use, as the first. Without it, the previous ISN + 2^31, which no acknowledgment of the
    /// previous handshake can reach (for tests and simulations).
    /// </param>
    public ClientConnection(SequenceNumber initialSequence, TimeSpan now, ClientOptions? options = null, Func<SequenceNumber>? newInitialSequence = null)
    {
        _options = options ?? ClientOptions.Default;
        _options.Retransmission.Validate();
        _newInitialSequence = newInitialSequence ?? (() => _isn + int.MinValue); // + 2^31, modulo 2^32
        _rto = new RtoEstimator(_options.Retransmission);
        _idleDeadline = now + _options.IdleTimeout;
        StartHandshake(initialSequence, now);
    }

    public ClientState State { get; private set; } = ClientState.SynSent;

    /// <summary>The content received so far; complete once <see cref="State"/> is Finished or Closed.</summary>
    public ReadOnlyMemory<byte> Content => _content.WrittenMemory;

    /// <summary>Why the transfer failed; null unless <see cref="State"/> is Failed.</summary>
    public ClientFailure? Failure { get; private set; }

    private ClientStatistics _statistics;

    /// <summary>The running totals, as a copy.</summary>
    public ClientStatistics Statistics => _statistics;

    /// <summary>True once the content is complete (Finished or Closed).</summary>
    public bool IsComplete => State is ClientState.Finished or ClientState.Closed;

    /// <summary>
    /// Processes one datagram from the gateway and writes the answer, if any, into
    /// <paramref name="answer"/> (at least <see cref="SegmentHeader.Size"/> bytes).
    /// </summary>
    /// <returns>The header read, the answer's length and why the datagram was dropped, if it was: what the caller logs and sends.</returns>
    public ClientDatagramOutcome HandleDatagram(ReadOnlySpan<byte> datagram, TimeSpan now, Span<byte> answer)
    {
        _statistics.DatagramsReceived++;
        _dropped = DropReason.None;
        if (!SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            Drop(DropReason.TooShort);
            return new ClientDatagramOutcome { Dropped = _dropped };
        }

        int answerLength = Handle(header, datagram[SegmentHeader.Size..], now, answer);
        return new ClientDatagramOutcome { Received = header, AnswerLength = answerLength, Dropped = _dropped };
    }

    private int Handle(in SegmentHeader header, ReadOnlySpan<byte> payload, TimeSpan now, Span<byte> answer)
    {
        if (State is ClientState.Closed or ClientState.Failed)
        {
            return Drop(DropReason.TransferEnded);
        }

        return header.ControlFlags switch
        {
            SegmentFlags.Syn | SegmentFlags.Ack => HandleSynAck(header, payload, now, answer),
            // Data segments carry ACK, and the last one FIN too (spec step 5: "sets the ACK flag").
            // Without ACK they are still unambiguous: the client never reads the gateway's ack field,
            // and the spec's own sample ends with "FIN, payload=5bytes", no ACK (PROTOCOL.md).
            SegmentFlags.Ack or (SegmentFlags.Ack | SegmentFlags.Fin) or SegmentFlags.Fin or SegmentFlags.None =>
                HandleSegment(header, payload, now, answer),
            _ => Drop(DropReason.UnexpectedFlags),
        };
    }

    /// <summary>
    /// Yields each reason for which a datagram was dropped in this transfer, once, the first time it
    /// happens: the log says what the gateway sent that this client does not take, without a line per
    /// datagram. <see cref="ClientStatistics.Drops"/> has the counts.
    /// </summary>
    public bool PollNewDropReason(out DropReason reason) => _dropReasonsUnpolled.TryTakeFirst(out reason);

    /// <summary>Writes the next packet due from a timer (the first SYN, or a retransmission).</summary>
    public bool PollTransmit(Span<byte> buffer, out int length)
    {
        if (!_transmitPending)
        {
            length = 0;
            return false;
        }

        _transmitPending = false;
        _lastAnswer.WriteTo(buffer);
        _statistics.DatagramsSent++;
        length = SegmentHeader.Size;
        return true;
    }

    /// <summary>The earliest time <see cref="HandleTimeout"/> has work to do; null once the transfer has ended.</summary>
    public TimeSpan? PollTimeout() => State switch
    {
        ClientState.Closed or ClientState.Failed => null,
        ClientState.Finished => _lingerDeadline,
        _ => Earliest(_retransmitAt, _fallbackAt) is { } due && due < GiveUpAt ? due : GiveUpAt,
    };

    /// <summary>
    /// The datagram socket reported that nothing listens at the gateway's port (an ICMP port
    /// unreachable). After a SYN|ACK that means the gateway that answered has gone: a new handshake
    /// starts at once (<see cref="ClientOptions.HandshakeFallback"/>). Otherwise it changes nothing:
    /// the gateway may be starting, and the timers keep trying.
    /// </summary>
    public void HandleUnreachable(TimeSpan now)
    {
        if (State == ClientState.Established)
        {
            StartNewHandshake(now);
        }
    }

    public void HandleTimeout(TimeSpan now)
    {
        switch (State)
        {
            case ClientState.Finished when now >= _lingerDeadline:
                State = ClientState.Closed;
                break;
            case ClientState.SynSent or ClientState.Established or ClientState.Receiving when now >= GiveUpAt:
                Fail(State switch
                {
                    ClientState.SynSent when _statistics.NewHandshakes == 0 => ClientFailureKind.NoAnswer,
                    ClientState.SynSent or ClientState.Established => ClientFailureKind.NoData,
                    _ => ClientFailureKind.Stalled,
                });
                break;
            case ClientState.Established when now >= _fallbackAt:
                StartNewHandshake(now);
                break;
            case ClientState.SynSent or ClientState.Established when now >= _retransmitAt:
                // Only the SYN and the handshake ACK expect an answer of their own; later ACKs are
                // answered by the gateway's next segment, which its own timer brings.
                _statistics.Retransmissions++;
                _retransmitted = true;
                _rto.BackOff();
                Send(now);
                break;
        }
    }

    private int HandleSynAck(in SegmentHeader header, ReadOnlySpan<byte> payload, TimeSpan now, Span<byte> answer)
    {
        if (header.Acknowledgment != _isn + 1)
        {
            return Drop(DropReason.SynAckWrongAck);
        }

        if (!payload.IsEmpty)
        {
            return Drop(DropReason.SynAckPayload);
        }

        if (State == ClientState.SynSent)
        {
            if (!_retransmitted)
            {
                _statistics.HandshakeRoundTripTime = now - _sentAt;
                _rto.AddSample(now - _sentAt); // Karn's rule (RFC 6298 §3): a SYN sent once
            }

            _gatewayIsn = header.Sequence;
            _expectedSequence = _gatewayIsn + 1;
            State = ClientState.Established;
            _fallbackAt = now + _options.HandshakeFallback;
            return Answer(new SegmentHeader(_isn + 1, _expectedSequence, SegmentFlags.Ack), now, answer, expectsReply: true);
        }

        // A SYN|ACK once established: a duplicate of the one we took gets our last answer again; one
        // with another ISN (a stale or forged handshake) is ignored.
        return header.Sequence == _gatewayIsn ? Repeat(now, answer) : Drop(DropReason.SynAckOtherIsn);
    }

    private int HandleSegment(in SegmentHeader header, ReadOnlySpan<byte> payload, TimeSpan now, Span<byte> answer)
    {
        if (State == ClientState.SynSent)
        {
            return Drop(DropReason.DataBeforeHandshake);
        }

        if (payload.Length > Segments.MaxPayload)
        {
            return Drop(DropReason.Oversize);
        }

        if (payload.IsEmpty && !header.IsFin)
        {
            // Nothing to acknowledge (a gateway's pure ACK, say, or TCP's last ACK after our
            // ACK|FIN): answering it could start an exchange of acknowledgments that never ends.
            return Drop(DropReason.EmptyWithoutFin);
        }

        int offset = header.Sequence - _expectedSequence;
        bool alreadyReceived = offset + payload.Length <= 0
            && header.Sequence - _gatewayIsn > 0
            && (offset < 0 || State == ClientState.Finished); // an empty FIN has offset 0
        if (alreadyReceived)
        {
            // A segment we already have: its acknowledgment was lost or it was duplicated on the way.
            // Acknowledge again, never append again.
            _statistics.DuplicateSegments++;
            return Repeat(now, answer);
        }

        if (State == ClientState.Finished)
        {
            return Drop(DropReason.DataAfterFin);
        }

        if (offset != 0)
        {
            // Ahead of the expected segment, or overlapping it: stop-and-wait sends neither.
            return Drop(DropReason.OutOfOrder);
        }

        if (!header.IsAck)
        {
            _statistics.Leniencies |= header.IsFin ? PeerLeniency.FinWithoutAck : PeerLeniency.DataWithoutAck;
        }

        if (_content.WrittenCount + payload.Length > _options.MaximumContentLength)
        {
            Fail(ClientFailureKind.ContentTooLong);
            return 0;
        }

        _content.Write(payload);
        _statistics.PayloadBytesReceived += payload.Length;
        _expectedSequence += payload.Length;
        _retransmitAt = null;
        _fallbackAt = null;
        _handshakeBudgetEnd = null;

        SegmentFlags flags = SegmentFlags.Ack;
        if (header.IsFin)
        {
            // FIN takes no sequence number (PROTOCOL.md): ACK|FIN acknowledges the data up to it.
            flags |= SegmentFlags.Fin;
            State = ClientState.Finished;
            _lingerDeadline = now + _options.Linger;
        }
        else
        {
            State = ClientState.Receiving;
        }

        return Answer(new SegmentHeader(_nextSequence, _expectedSequence, flags), now, answer, expectsReply: false);
    }

    private int Answer(SegmentHeader header, TimeSpan now, Span<byte> answer, bool expectsReply)
    {
        // Each new acknowledgment takes the next client sequence number, as in the spec's sample.
        _nextSequence = header.Sequence + 1;
        _lastAnswer = header;
        if (expectsReply)
        {
            _sentAt = now;
            _retransmitAt = now + _rto.Current;
        }

        return Repeat(now, answer);
    }

    private int Repeat(TimeSpan now, Span<byte> answer)
    {
        _idleDeadline = now + _options.IdleTimeout;
        _lastAnswer.WriteTo(answer);
        _statistics.DatagramsSent++;
        return SegmentHeader.Size;
    }

    /// <summary>
    /// When the transfer fails for silence: <see cref="ClientOptions.IdleTimeout"/> after the last
    /// datagram the gateway sent, and after a new handshake no later than the first handshake's
    /// budget, so that a gateway answering every SYN and sending no data cannot keep it going.
    /// </summary>
    private TimeSpan GiveUpAt => _handshakeBudgetEnd is { } end && end < _idleDeadline ? end : _idleDeadline;

    private static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null || a < b ? a : b;

    private void StartHandshake(SequenceNumber isn, TimeSpan now)
    {
        _isn = isn;
        _lastAnswer = new SegmentHeader(_isn, default, SegmentFlags.Syn);
        _nextSequence = _isn + 1;
        _retransmitted = false;
        State = ClientState.SynSent;
        Send(now);
    }

    /// <summary>
    /// Abandons a handshake that brought no data and starts another with a new ISN, so that a
    /// restarted gateway sees a new connection rather than an acknowledgment of nothing it knows.
    /// The segments of the abandoned handshake, should any still come, are dropped as data before
    /// the handshake; its SYN|ACK as one acknowledging another ISN.
    /// </summary>
    private void StartNewHandshake(TimeSpan now)
    {
        _handshakeBudgetEnd ??= _idleDeadline;
        _fallbackAt = null;
        _statistics.NewHandshakes++;
        StartHandshake(_newInitialSequence(), now);
    }

    private void Send(TimeSpan now)
    {
        _sentAt = now;
        _retransmitAt = now + _rto.Current;
        _transmitPending = true;
    }

    private int Drop(DropReason reason)
    {
        _dropped = reason;
        _statistics.Drops.Add(reason);
        if (_dropReasonsMet.Add(reason))
        {
            _dropReasonsUnpolled.Add(reason);
        }

        return 0;
    }

    private void Fail(ClientFailureKind kind)
    {
        Failure = new ClientFailure(kind, _options.IdleTimeout, _content.WrittenCount, _options.MaximumContentLength);
        State = ClientState.Failed;
    }
}
