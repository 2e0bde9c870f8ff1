using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>
/// How the suite's client behaves in one fetch: the faults a case scripts (an answer withheld, a
/// duplicate sent), the readings of the spec other clients take, and, for the suite's own tests,
/// the defects of a broken client.
/// </summary>
public sealed record ClientScript
{
    /// <summary>Our ISN; random when null.</summary>
    public uint? Isn { get; init; }

    /// <summary>Wait this long before the handshake ACK, as if the first one was lost.</summary>
    public TimeSpan HandshakeAckDelay { get; init; }

    /// <summary>
    /// The network's faults between the gateway and this client (a segment lost on its way here, our
    /// ACK lost, our ACKs doubled...), applied to every datagram either way as it passes.
    /// </summary>
    public IReadOnlyList<Fault> Faults { get; init; } = [];

    /// <summary>Datagrams to send before the acknowledgment of segment N (0 = the first), given the segment taken.</summary>
    public Func<int, Datagram, IEnumerable<byte[]>>? InjectBeforeAck { get; init; }

    /// <summary>Stop answering after this many segments (a client that stalls).</summary>
    public int? StallAfterSegments { get; init; }

    /// <summary>How long to wait for each datagram before sending the last answer again.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Give up after this many silent waits in a row.</summary>
    public int MaximumSilentWaits { get; init; } = 10;

    /// <summary>Called once the SYN|ACK came, before the handshake ACK (a case holds clients there).</summary>
    public Action? AfterSynAck { get; init; }

    /// <summary>After the ACK|FIN, how long to stay and answer the FIN again if it comes (our ACK|FIN lost).</summary>
    public TimeSpan Linger { get; init; }

    /// <summary>Take a FIN that comes again after our ACK|FIN as a protocol error, and fail.</summary>
    public bool FinAgainIsAnError { get; init; }

    // Readings of the spec that other clients take (accepted by our gateway).

    /// <summary>How the pure ACKs number their seq: the sample's + 1, constant, or + the bytes received.</summary>
    public SequenceStyle Sequence { get; init; } = SequenceStyle.PlusOne;

    /// <summary>Acknowledge the FIN segment with a plain ACK first, then close.</summary>
    public bool PlainAckBeforeFin { get; init; }

    /// <summary>Count the FIN as one sequence number in the closing acknowledgment (TCP's habit).</summary>
    public bool FinTakesSequenceNumber { get; init; }

    /// <summary>Close with a FIN without ACK (after a plain ACK).</summary>
    public bool CloseWithBareFin { get; init; }

    // Defects of a broken client, for the suite's own tests.

    /// <summary>Append a duplicate segment again.</summary>
    public bool AppendDuplicates { get; init; }

    /// <summary>Never answer the FIN with ACK|FIN (a plain ACK only).</summary>
    public bool NeverFinAck { get; init; }

    /// <summary>Acknowledge seq + length + 1 (the sample's slip as a rule).</summary>
    public bool AckOneTooFar { get; init; }

    /// <summary>Send the SYN with ACK set too.</summary>
    public bool SynWithAck { get; init; }

    /// <summary>Never retransmit the SYN or the handshake ACK.</summary>
    public bool NeverRetransmit { get; init; }

    /// <summary>Answer only the first SYN|ACK; the same SYN|ACK again gets nothing.</summary>
    public bool IgnoreRepeatedSynAck { get; init; }

    /// <summary>Give up at the first SYN|ACK after the handshake, as a protocol error.</summary>
    public bool AbortOnSecondSynAck { get; init; }

    /// <summary>A segment we already have gets no acknowledgment.</summary>
    public bool IgnoreDuplicates { get; init; }

    /// <summary>Take a segment ahead of the next expected one, in the order segments arrive.</summary>
    public bool TakeInArrivalOrder { get; init; }

    /// <summary>Give up at a datagram shorter than the header.</summary>
    public bool DieOnRunt { get; init; }

    /// <summary>Take a segment longer than 512 bytes.</summary>
    public bool TakeOversize { get; init; }

    /// <summary>Take datagrams from any address and port as the gateway's (an unconnected socket).</summary>
    public bool FromAnyone { get; init; }

    /// <summary>Drop every datagram with a reserved bit set.</summary>
    public bool DropReservedBits { get; init; }

    /// <summary>Take only segments with the ACK flag (a FIN alone is dropped).</summary>
    public bool RequireAckFlag { get; init; }

    /// <summary>Drop every segment without payload, FIN or not.</summary>
    public bool IgnoreEmptySegments { get; init; }

    /// <summary>Drop a segment whose ack field is not our last seq + 1.</summary>
    public bool RequireCountingAckField { get; init; }

    /// <summary>Take FIN only on a segment shorter than 512 bytes (the end found by length).</summary>
    public bool FinOnlyOnShortSegment { get; init; }

    /// <summary>Drop an empty segment while no data has come (an empty page never ends).</summary>
    public bool WaitForDataFirst { get; init; }

    /// <summary>Compare sequence numbers as if they never wrapped past 2^32.</summary>
    public bool NoWraparound { get; init; }
}

public enum SequenceStyle
{
    PlusOne,
    Constant,
    PlusBytes,

    /// <summary>Every pure ACK with the ISN itself, below the handshake ACK's seq (a broken client).</summary>
    Isn,
}

/// <summary>What one fetch saw.</summary>
public sealed class FetchResult
{
    public uint ClientIsn { get; init; }

    /// <summary>SYNs sent before the SYN|ACK came.</summary>
    public int SynsSent { get; set; }

    public Datagram? SynAck { get; set; }

    /// <summary>Every datagram after the SYN|ACK that carried data or FIN, retransmissions included.</summary>
    public List<Datagram> Segments { get; } = [];

    /// <summary>The segments taken, in order: each once.</summary>
    public List<Datagram> Taken { get; } = [];

    public List<byte> Content { get; } = [];

    /// <summary>The segment with FIN that ended the transfer, when one came.</summary>
    public Datagram? Fin { get; set; }

    /// <summary>Why the fetch ended early, if it did.</summary>
    public string? Stalled { get; set; }

    /// <summary>Datagrams that fit nothing: ahead, overlapping, empty without FIN.</summary>
    public List<Datagram> Unexpected { get; } = [];

    public bool Completed => Fin is not null && Stalled is null;
}

/// <summary>
/// The suite's client: one fetch from a gateway through a <see cref="Probe"/>, behaving as its
/// <see cref="ClientScript"/> says. Stop-and-wait, as the spec describes it; every loop bounded.
/// </summary>
public static class SuiteClient
{
    public static FetchResult Fetch(Probe probe, ClientScript script)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(script);
        probe.UseFaults(script.Faults);
        try
        {
            FetchResult result = FetchThroughNetwork(probe, script);
            // A segment lost on its way here was sent all the same: a retransmission is told by it.
            result.Segments.AddRange(probe.LostOnTheWay.Where(d => !d.Header.IsSyn && (d.Payload.Length > 0 || d.Header.IsFin)));
            return result;
        }
        finally
        {
            probe.UseFaults([]);
        }
    }

    private static FetchResult FetchThroughNetwork(Probe probe, ClientScript script)
    {
        uint isn = script.Isn ?? (uint)Random.Shared.NextInt64(0, uint.MaxValue);
        var result = new FetchResult { ClientIsn = isn };
        byte[] syn = Datagram.Build(isn, 0, script.SynWithAck ? SegmentFlags.Syn | SegmentFlags.Ack : SegmentFlags.Syn);

        for (int attempt = 0; result.SynAck is null; attempt++)
        {
            if (attempt > 0 && script.NeverRetransmit)
            {
                result.Stalled = "no SYN|ACK to our only SYN";
                return result;
            }

            if (attempt >= Math.Max(6, script.MaximumSilentWaits))
            {
                result.Stalled = $"no SYN|ACK after {attempt} SYNs";
                return result;
            }

            probe.SendRaw(syn);
            result.SynsSent++;
            Datagram? answer = probe.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack) && d.Ack == isn + 1, script.ReceiveTimeout);
            result.SynAck = answer;
        }

        script.AfterSynAck?.Invoke();
        uint gatewayIsn = result.SynAck.Seq;
        uint expected = gatewayIsn + 1;
        uint seq = isn + 1;
        if (script.HandshakeAckDelay > TimeSpan.Zero)
        {
            result.Segments.AddRange(probe.Drain(script.HandshakeAckDelay).Where(d => d.Payload.Length > 0 || d.Header.IsFin));
        }

        byte[] lastAnswer = Datagram.Build(seq, gatewayIsn + 1, SegmentFlags.Ack);
        probe.SendRaw(lastAnswer);
        int silentWaits = 0;
        for (int turn = 0; turn < 100_000; turn++)
        {
            Datagram? datagram = probe.Receive(script.ReceiveTimeout);
            if (script.DieOnRunt && probe.Runts > 0)
            {
                result.Stalled = "a datagram shorter than the header could not be read";
                return result;
            }

            if (datagram is not null && script.DropReservedBits && datagram.Header.HasReservedBits)
            {
                continue;
            }

            if (datagram is null)
            {
                if (++silentWaits >= script.MaximumSilentWaits)
                {
                    result.Stalled = $"nothing from the gateway for {script.MaximumSilentWaits} waits of {script.ReceiveTimeout.TotalSeconds:0.#} s after {result.Content.Count} bytes";
                    return result;
                }

                if (!script.NeverRetransmit && result.Taken.Count == 0)
                {
                    probe.SendRaw(lastAnswer); // the handshake ACK is answered by the first segment only
                }

                continue;
            }

            silentWaits = 0;
            if (datagram.Is(SegmentFlags.Syn | SegmentFlags.Ack))
            {
                if (script.AbortOnSecondSynAck)
                {
                    result.Stalled = "a SYN|ACK after the handshake";
                    return result;
                }

                if (!script.IgnoreRepeatedSynAck)
                {
                    probe.SendRaw(lastAnswer);
                }

                continue;
            }

            bool empty = datagram.Payload.Length == 0;
            if (datagram.Header.IsSyn
                || (empty && (!datagram.Header.IsFin || script.IgnoreEmptySegments || (script.WaitForDataFirst && result.Taken.Count == 0)))
                || (datagram.Payload.Length > Segments.MaxPayload && !script.TakeOversize)
                || (script.RequireAckFlag && !datagram.Header.IsAck)
                || (script.RequireCountingAckField && datagram.Ack != seq + 1))
            {
                result.Unexpected.Add(datagram);
                continue;
            }

            result.Segments.Add(datagram);
            int offset = script.NoWraparound
                ? (int)Math.Clamp((long)datagram.Seq - ((long)gatewayIsn + 1 + result.Content.Count), int.MinValue, int.MaxValue)
                : (int)(datagram.Seq - expected);
            if (result.Taken.Count > 0 && offset + datagram.Payload.Length <= 0 && (offset < 0 || result.Fin is not null))
            {
                if (script.AppendDuplicates)
                {
                    result.Content.AddRange(datagram.Payload);
                }

                if (!script.IgnoreDuplicates)
                {
                    probe.SendRaw(lastAnswer); // a segment we have: its acknowledgment was lost
                }

                if (result.Fin is not null)
                {
                    return result; // the FIN again: answered again, and that is the end
                }

                continue;
            }

            if (script.TakeInArrivalOrder && offset > 0 && result.Fin is null)
            {
                expected = datagram.Seq; // a gap left behind
            }
            else if (offset != 0 || result.Fin is not null)
            {
                result.Unexpected.Add(datagram);
                continue;
            }

            int index = result.Taken.Count;
            if (script.StallAfterSegments is { } stall && index >= stall)
            {
                result.Stalled = $"stalled on purpose after {stall} segments";
                return result;
            }

            result.Taken.Add(datagram);
            result.Content.AddRange(datagram.Payload);
            expected += (uint)datagram.Payload.Length;
            bool fin = datagram.Header.IsFin && !(script.FinOnlyOnShortSegment && datagram.Payload.Length == Segments.MaxPayload);
            seq = script.Sequence switch
            {
                SequenceStyle.Constant => isn + 1,
                SequenceStyle.Isn => isn,
                SequenceStyle.PlusBytes => seq + (uint)datagram.Payload.Length,
                _ => seq + 1,
            };
            uint ack = expected + (script.AckOneTooFar ? 1u : 0) + (fin && script.FinTakesSequenceNumber ? 1u : 0);

            foreach (byte[] garbage in script.InjectBeforeAck?.Invoke(index, datagram) ?? [])
            {
                probe.SendRaw(garbage);
            }

            if (fin && (script.PlainAckBeforeFin || script.NeverFinAck || script.CloseWithBareFin))
            {
                probe.SendRaw(Datagram.Build(seq, ack, SegmentFlags.Ack));
                seq++;
            }

            SegmentFlags flags = !fin ? SegmentFlags.Ack : script.CloseWithBareFin ? SegmentFlags.Fin : SegmentFlags.Ack | SegmentFlags.Fin;
            lastAnswer = Datagram.Build(seq, ack, flags);
            if (fin)
            {
                result.Fin = datagram;
                if (script.NeverFinAck)
                {
                    return result;
                }
            }

            probe.SendRaw(lastAnswer);

            if (fin)
            {
                Linger(probe, script, lastAnswer, result);
                return result;
            }
        }

        result.Stalled = "the turn limit";
        return result;
    }

    /// <summary>
    /// Answers a segment that comes again (the FIN: our ACK|FIN was lost) with our ACK|FIN, within the
    /// script's linger; once answered, waits one receive timeout more for a copy already on its way.
    /// </summary>
    private static void Linger(Probe probe, ClientScript script, byte[] finAck, FetchResult result)
    {
        TimeSpan until = probe.Now + script.Linger;
        while (probe.Receive(until - probe.Now) is { } again)
        {
            if (again.Header.IsSyn || (again.Payload.Length == 0 && !again.Header.IsFin))
            {
                continue;
            }

            result.Segments.Add(again);
            if (again.Header.IsFin && script.FinAgainIsAnError)
            {
                result.Stalled = "a FIN after the close";
                return;
            }

            probe.SendRaw(finAck);
            until = TimeSpan.FromTicks(Math.Min(until.Ticks, (probe.Now + script.ReceiveTimeout).Ticks));
        }
    }
}
