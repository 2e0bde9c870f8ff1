using System.Net;
using System.Text.RegularExpressions;
using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>A running gateway under test and the page it serves.</summary>
/// <param name="LogPath">Its log file, when given: the log case reads it.</param>
/// <param name="Seed">Seeds the random parts of the cases (ISNs, garbage), so that a failing case replays.</param>
public sealed record GatewayTarget(IPEndPoint EndPoint, byte[] Page, string? LogPath = null, int Seed = 1)
{
    /// <summary>How long the suite's client waits for a silent gateway before it calls the transfer stalled.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether anything at all comes back for a SYN sent three times, a second apart: a gateway
    /// that is not running would otherwise fail every case, after minutes of waiting.
    /// </summary>
    public static bool Answers(IPEndPoint endPoint)
    {
        using var probe = new Probe(endPoint);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            probe.Send(1000u + (uint)attempt, 0, SegmentFlags.Syn);
            if (probe.Receive(TimeSpan.FromSeconds(1)) is not null)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The cases that play clients against a gateway (<c>anon-lab conformance gateway</c>).</summary>
public static partial class GatewayCases
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(500);

    public static IReadOnlyList<ConformanceCase<GatewayTarget>> All { get; } =
    [
        new("gateway.handshake.syn-ack", Spec.Step2, SynAck),
        new("gateway.header.reserved-bits", Spec.NotUsed, ReservedBits),
        new("gateway.isn.unpredictable", Spec.Isn, IsnUnpredictable),
        new("gateway.handshake.no-data-before-ack", Spec.Begin, NoDataBeforeHandshakeAck),
        new("gateway.handshake.forged-ack", Spec.Step3, ForgedHandshakeAck),
        new("gateway.handshake.syn-answer-size", Spec.Step2, SynAnswerSize),
        new("gateway.data.first-segment", Spec.Data, FirstSegment),
        new("gateway.data.segment-size", Spec.Data, SegmentSize),
        new("gateway.data.sequence-arithmetic", Spec.SequenceNumber, SequenceArithmetic),
        new("gateway.data.ack-field", Spec.Data, AckField),
        new("gateway.fin.last-segment", Spec.Fin, FinOnLastSegment),
        new("gateway.content.byte-exact", Spec.Data, ByteExact),
        new("gateway.close.quiet-after-fin-ack", Spec.FinAck, QuietAfterFinAck),
        new("gateway.retransmit.syn-ack-lost", Spec.Robust, SynAckLost),
        new("gateway.retransmit.handshake-ack-lost", Spec.Robust, HandshakeAckLate),
        new("gateway.retransmit.segment-lost", Spec.Robust, SegmentLost),
        new("gateway.retransmit.ack-lost", Spec.Robust, AckLost),
        new("gateway.retransmit.fin-lost", Spec.Robust, FinLost),
        new("gateway.retransmit.fin-ack-lost", Spec.Robust, FinAckLost),
        new("gateway.retransmit.bounded", Spec.Robust, RetransmissionsBounded),
        new("gateway.duplicate-ack.no-data", Spec.NextSegment, DuplicateAckGetsNoData),
        new("gateway.duplicate.handshake-ack", Spec.Once, DuplicateHandshakeAck),
        new("gateway.reorder.acks", Spec.Robust, ReorderedAcks),
        new("gateway.ack.beyond-sent", Spec.NextSegment, AckBeyondSent),
        new("gateway.restart.client", Spec.Robust, ClientRestart),
        new("gateway.concurrent.clients", Spec.Indefinitely, ConcurrentClients),
        new("gateway.garbage.before", Spec.Header, GarbageBefore),
        new("gateway.garbage.amid", Spec.Header, GarbageAmid),
        new("gateway.log.format", Spec.Log, LogFormat),
    ];

    private static (FetchResult Result, List<Datagram> Received) Fetch(GatewayTarget target, ClientScript? script = null)
    {
        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, script ?? new ClientScript());
        return (result, probe.Received);
    }

    /// <summary>One fetch through <paramref name="probe"/>, as patient with silence as the target says.</summary>
    private static FetchResult Fetch(GatewayTarget target, Probe probe, ClientScript script) =>
        SuiteClient.Fetch(probe, script with { MaximumSilentWaits = Math.Max(1, (int)Math.Ceiling(target.Patience / script.ReceiveTimeout)) });

    /// <summary>The fetch completed and the content is the page, byte for byte; null when so, else the failure.</summary>
    private static Outcome? NotExact(GatewayTarget target, FetchResult result)
    {
        if (!result.Completed)
        {
            return Outcome.Failed($"the transfer did not complete: {result.Stalled ?? "no FIN"} ({result.Content.Count} bytes taken)",
                "every byte of the page, then FIN", result.Segments.LastOrDefault()?.ToString() ?? "nothing");
        }

        byte[] content = [.. result.Content];
        if (!content.AsSpan().SequenceEqual(target.Page))
        {
            int first = FirstDifference(content, target.Page);
            return Outcome.Failed($"the content differs from the page at byte {first} ({content.Length} bytes against {target.Page.Length})",
                $"{target.Page.Length} bytes", $"{content.Length} bytes");
        }

        return null;
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i])
        {
            i++;
        }

        return i;
    }

    private static Outcome ExactAfter(GatewayTarget target, ClientScript script, string what)
    {
        (FetchResult result, _) = Fetch(target, script);
        return NotExact(target, result) is { } failed
            ? failed with { Detail = $"{what}: {failed.Detail}" }
            : Outcome.Ok($"{what}: the page arrived byte for byte ({result.Segments.Count} segments received for {result.Taken.Count} taken)");
    }

    private static Outcome SynAck(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        probe.Send(12345, 0, SegmentFlags.Syn);
        Datagram? answer = probe.Receive(TimeSpan.FromSeconds(3));
        if (answer is null)
        {
            return Outcome.Failed("no answer to a SYN within 3 s", "seq=<ISN> ack=12346 ACK|SYN len=0", "nothing");
        }

        return answer.Is(SegmentFlags.Syn | SegmentFlags.Ack) && answer.Ack == 12346 && answer.Payload.Length == 0
            ? Outcome.Ok($"SYN seq=12345 answered with {answer}")
            : Outcome.Failed("the answer to a SYN is not SYN|ACK acknowledging ISN + 1", "seq=<ISN> ack=12346 ACK|SYN len=0", answer.ToString());
    }

    private static Outcome ReservedBits(GatewayTarget target)
    {
        (FetchResult result, List<Datagram> received) = Fetch(target);
        Datagram? bad = received.FirstOrDefault(d => d.Header.HasReservedBits);
        if (bad is not null)
        {
            return Outcome.Failed("a datagram from the gateway has reserved bits set", "the 29 unused bits zero", bad.ToString());
        }

        return received.Count == 0 ? Outcome.Failed("nothing arrived to judge", "a transfer", "nothing") : Outcome.Ok($"{received.Count} datagrams, none with a reserved bit set");
    }

    private static Outcome IsnUnpredictable(GatewayTarget target)
    {
        var random = new Random(target.Seed);
        var isns = new List<uint>();
        for (int i = 0; i < 5; i++)
        {
            using var probe = new Probe(target.EndPoint);
            probe.Send((uint)random.NextInt64(0, uint.MaxValue), 0, SegmentFlags.Syn);
            Datagram? answer = probe.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack), TimeSpan.FromSeconds(3));
            if (answer is null)
            {
                return Outcome.Failed($"no SYN|ACK to SYN {i + 1} of 5");
            }

            isns.Add(answer.Seq);
        }

        string seen = string.Join(", ", isns);
        if (isns.Distinct().Count() == 1)
        {
            return Outcome.Failed($"the same ISN for 5 connections: {seen}", "an ISN chosen at random per connection", seen);
        }

        bool counting = isns.Zip(isns.Skip(1), (a, b) => b - a).All(step => step < 1 << 16);
        return counting
            ? Outcome.Lenient($"ISNs differ but count up in small steps (predictable): {seen}")
            : Outcome.Ok($"5 connections, 5 unrelated ISNs: {seen}");
    }

    private static Outcome NoDataBeforeHandshakeAck(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        probe.Send(777, 0, SegmentFlags.Syn);
        if (probe.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack), TimeSpan.FromSeconds(3)) is null)
        {
            return Outcome.Failed("no SYN|ACK");
        }

        Datagram? data = probe.Drain(TimeSpan.FromSeconds(1)).FirstOrDefault(d => d.Payload.Length > 0 || d.Header.IsFin);
        return data is null
            ? Outcome.Ok("nothing but the handshake for 1 s without the third packet")
            : Outcome.Failed("data before the handshake ACK", "no data until the client's ACK", data.ToString());
    }

    private static Outcome ForgedHandshakeAck(GatewayTarget target)
    {
        using var stranger = new Probe(target.EndPoint);
        stranger.Send(5000, 101, SegmentFlags.Ack); // no SYN ever sent from this port
        using var wrong = new Probe(target.EndPoint);
        wrong.Send(6000, 0, SegmentFlags.Syn);
        Datagram? synAck = wrong.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack), TimeSpan.FromSeconds(3));
        if (synAck is null)
        {
            return Outcome.Failed("no SYN|ACK");
        }

        wrong.Send(6001, synAck.Seq + 2, SegmentFlags.Ack); // acknowledges a number the gateway never sent
        List<Datagram> answers = [.. stranger.Drain(Short), .. wrong.Drain(Short)];
        Datagram? data = answers.FirstOrDefault(d => d.Payload.Length > 0);
        return data is null
            ? Outcome.Ok("an ACK with no handshake and one with a wrong ack got no data")
            : Outcome.Failed("data to a client that never completed the handshake", "no data", data.ToString());
    }

    private static Outcome SynAnswerSize(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        probe.Send(4242, 0, SegmentFlags.Syn);
        List<Datagram> answers = probe.Drain(TimeSpan.FromSeconds(1));
        if (answers.Count == 0)
        {
            return Outcome.Failed("no answer to a SYN");
        }

        int bytes = answers.Sum(d => d.Raw.Length);
        return bytes <= SegmentHeader.Size * 4 && answers.All(d => d.Payload.Length == 0)
            ? Outcome.Ok($"a 12-byte SYN got {answers.Count} datagram(s), {bytes} bytes, in 1 s")
            : Outcome.Failed("a SYN gets more than it sent: an amplifier for forged addresses", "one 12-byte SYN|ACK", $"{answers.Count} datagrams, {bytes} bytes");
    }

    private static Outcome FirstSegment(GatewayTarget target)
    {
        (FetchResult result, _) = Fetch(target);
        if (result.SynAck is null || result.Segments.Count == 0)
        {
            return Outcome.Failed($"no segment: {result.Stalled}");
        }

        Datagram first = result.Segments[0];
        uint expectedSeq = result.SynAck.Seq + 1;
        if (first.Seq != expectedSeq)
        {
            return Outcome.Failed("the first segment does not start at the gateway's ISN + 1", $"seq={expectedSeq}", first.ToString());
        }

        return first.Header.IsAck
            ? Outcome.Ok($"first segment {first}")
            : Outcome.Lenient($"the first segment has no ACK flag (the text asks for it): {first}");
    }

    private static Outcome SegmentSize(GatewayTarget target)
    {
        (FetchResult result, _) = Fetch(target);
        // Judged before the content: the suite's client refuses a longer segment, as a client should,
        // and the transfer then never completes.
        Datagram? tooLong = result.Segments.Concat(result.Unexpected).FirstOrDefault(d => d.Payload.Length > Segments.MaxPayload);
        if (tooLong is not null)
        {
            return Outcome.Failed("a segment longer than 512 bytes", "at most 512 bytes", tooLong.ToString());
        }

        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        List<Datagram> data = [.. result.Taken.Where(d => d.Payload.Length > 0)];
        Datagram? shortOne = data.Take(data.Count - 1).FirstOrDefault(d => d.Payload.Length != Segments.MaxPayload);
        return shortOne is null
            ? Outcome.Ok($"{data.Count} data segments, all 512 bytes but the last ({data.LastOrDefault()?.Payload.Length ?? 0})")
            : Outcome.Lenient($"a segment other than the last is shorter than 512 bytes: {shortOne}");
    }

    private static Outcome SequenceArithmetic(GatewayTarget target)
    {
        (FetchResult result, _) = Fetch(target);
        // Judged before the content: a segment that starts elsewhere is refused, and the transfer
        // then never completes. A segment sent again starts where it did the first time.
        Datagram? astray = result.Unexpected.FirstOrDefault(d => d.Payload.Length > 0 && result.Taken.Count > 0 && !result.Taken.Any(t => t.Seq == d.Seq));
        if (astray is not null)
        {
            return Outcome.Failed($"a segment does not start where segment {result.Taken.Count} ended", $"seq={result.Taken[^1].End}", astray.ToString());
        }

        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        for (int i = 1; i < result.Taken.Count; i++)
        {
            if (result.Taken[i].Seq != result.Taken[i - 1].End)
            {
                return Outcome.Failed($"segment {i + 1} does not start where segment {i} ended", $"seq={result.Taken[i - 1].End}", result.Taken[i].ToString());
            }
        }

        return Outcome.Ok($"{result.Taken.Count} segments, each seq = the previous seq + its length");
    }

    private static Outcome AckField(GatewayTarget target)
    {
        (FetchResult result, _) = Fetch(target, new ClientScript { Isn = 12345 });
        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        // The sample: the gateway's ack is the client's last seq + 1 (12347, 12348, ...). A constant
        // ISN + 1 is a reading (the client sends no data); anything else acknowledges what was never sent.
        uint expected = 12347;
        Datagram? departs = null;
        foreach (Datagram segment in result.Taken)
        {
            if (segment.Ack != expected && departs is null)
            {
                departs = segment;
            }

            expected++;
        }

        if (departs is null)
        {
            return Outcome.Ok("the ack field is the client's last seq + 1 in every segment, as in the sample");
        }

        Datagram? wrong = result.Taken.FirstOrDefault(segment => segment.Ack != 12346);
        return wrong is null
            ? Outcome.Lenient($"the ack field stays the client's ISN + 1 instead of counting its ACKs as the sample does (12347, 12348, ...): {departs}")
            : Outcome.Failed("the ack field is neither the client's last seq + 1 nor its ISN + 1: \"the next sequence number the sender is expecting\"",
                "ack=12347, 12348, ... (or 12346 throughout)", wrong.ToString());
    }

    private static Outcome FinOnLastSegment(GatewayTarget target)
    {
        (FetchResult result, _) = Fetch(target);
        if (result.Fin is null && result.Content.Count == target.Page.Length && result.Content.SequenceEqual(target.Page))
        {
            return Outcome.Failed("the whole page arrived, but no segment carried FIN", "FIN on the last segment", result.Taken.LastOrDefault()?.ToString() ?? "nothing");
        }

        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        Datagram fin = result.Fin!;
        if (fin.Payload.Length == 0 && target.Page.Length > 0)
        {
            return Outcome.Lenient($"FIN in an empty segment after the data, not on the last data segment: {fin}");
        }

        return fin.Is(SegmentFlags.Ack | SegmentFlags.Fin)
            ? Outcome.Ok($"the last segment carries ACK|FIN: {fin}")
            : Outcome.Lenient($"the last segment carries FIN without ACK, as the spec's sample draws it: {fin}");
    }

    private static Outcome ByteExact(GatewayTarget target) => ExactAfter(target, new ClientScript(), "a plain fetch");

    private static Outcome QuietAfterFinAck(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript());
        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        List<Datagram> after = probe.Drain(TimeSpan.FromSeconds(1));
        return after.Count == 0
            ? Outcome.Ok("nothing more for 1 s after our ACK|FIN")
            : Outcome.Failed("the gateway kept sending after the client's ACK|FIN closed the transfer", "nothing", after[0].ToString());
    }

    private static Outcome SynAckLost(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        probe.Send(9000, 0, SegmentFlags.Syn);
        Datagram? first = probe.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack), TimeSpan.FromSeconds(3));
        probe.Send(9000, 0, SegmentFlags.Syn); // as if the SYN|ACK had been lost
        Datagram? second = probe.ReceiveWhere(d => d.Is(SegmentFlags.Syn | SegmentFlags.Ack), TimeSpan.FromSeconds(3));
        if (first is null || second is null)
        {
            return Outcome.Failed("the SYN sent again got no SYN|ACK", "a SYN|ACK to each SYN", first is null ? "nothing to the first" : "nothing to the second");
        }

        return first.Seq == second.Seq
            ? Outcome.Ok($"the SYN sent again got the same SYN|ACK: {second}")
            : Outcome.Lenient($"the SYN sent again got a SYN|ACK with another ISN ({first.Seq}, then {second.Seq})");
    }

    private static Outcome HandshakeAckLate(GatewayTarget target) =>
        ExactAfter(target, new ClientScript { HandshakeAckDelay = TimeSpan.FromSeconds(1) }, "the handshake ACK sent 1 s late, as a retransmission would be");

    private static Outcome SegmentLost(GatewayTarget target) =>
        Retransmitted(target, new ClientScript { Faults = [new Lose(Way.ToClient, DatagramKind.Segment, Segment: 1)] }, "the second segment lost");

    private static Outcome AckLost(GatewayTarget target) =>
        Retransmitted(target, new ClientScript { Faults = [new Lose(Way.ToGateway, DatagramKind.AckOfSegment, Segment: 0)] }, "our acknowledgment of the first segment lost");

    private static Outcome FinLost(GatewayTarget target)
    {
        int last = (target.Page.Length + Segments.MaxPayload - 1) / Segments.MaxPayload - 1;
        return Retransmitted(target, new ClientScript { Faults = [new Lose(Way.ToClient, DatagramKind.Segment, Segment: Math.Max(0, last))] }, "the segment with FIN lost");
    }

    private static Outcome FinAckLost(GatewayTarget target) =>
        Retransmitted(
            target,
            new ClientScript { Faults = [new Lose(Way.ToGateway, DatagramKind.FinAck)], Linger = target.Patience },
            "our ACK|FIN lost");

    /// <summary>The transfer completes byte for byte and some segment came twice: the gateway's timer sent it again.</summary>
    private static Outcome Retransmitted(GatewayTarget target, ClientScript script, string what)
    {
        (FetchResult result, _) = Fetch(target, script);
        if (NotExact(target, result) is { } failed)
        {
            return failed with { Detail = $"{what}: {failed.Detail}" };
        }

        int again = result.Segments.Count - result.Taken.Count;
        if (again == 0)
        {
            return Outcome.Failed($"{what}: nothing was sent again", "a retransmission", "none");
        }

        // A segment sent again is the same segment: its seq, flags and bytes (its ack field may have moved).
        foreach (Datagram sent in result.Segments)
        {
            Datagram? taken = result.Taken.FirstOrDefault(t => t.Seq == sent.Seq);
            if (taken is not null && (taken.Flags != sent.Flags || !taken.Payload.AsSpan().SequenceEqual(sent.Payload)))
            {
                return Outcome.Failed($"{what}: the segment sent again differs from the first", taken.ToString(), sent.ToString());
            }
        }

        return Outcome.Ok($"{what}: sent again by the gateway's timer, unchanged; the page arrived byte for byte");
    }

    /// <summary>
    /// A gateway must give up on a client that fell silent. No watch of finite length proves that it
    /// stops, so the case waits for a silence clearly longer than the gateway's own rhythm (2.5 times
    /// its longest gap, which a timer that doubles never leaves, and at least half the patience),
    /// within six times the patience: a gateway still sending then fails.
    /// </summary>
    private static Outcome RetransmissionsBounded(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript { StallAfterSegments = 1, ReceiveTimeout = TimeSpan.FromSeconds(3) });
        if (result.Taken.Count != 1)
        {
            return Outcome.Failed($"no first segment to stall on: {result.Stalled}");
        }

        TimeSpan started = probe.Now;
        TimeSpan limit = target.Patience * 6;
        TimeSpan lastAt = started;
        TimeSpan longestGap = TimeSpan.Zero;
        int retransmissions = 0;
        TimeSpan quietUntil;
        while (true)
        {
            quietUntil = lastAt + TimeSpan.FromTicks(Math.Max((target.Patience / 2).Ticks, (longestGap * 2.5).Ticks));
            if (probe.Receive(Min(quietUntil, started + limit) - probe.Now) is not { } datagram)
            {
                break;
            }

            retransmissions++;
            longestGap = TimeSpan.FromTicks(Math.Max(longestGap.Ticks, (datagram.At - lastAt).Ticks));
            lastAt = datagram.At;
        }

        if (quietUntil > started + limit)
        {
            return Outcome.Failed(
                $"still retransmitting to a silent client after {limit.TotalSeconds:0} s ({retransmissions} datagrams, gaps up to {longestGap.TotalSeconds:0.###} s): "
                + "a client that has gone must be given up on (raise --patience for a gateway that gives up later)",
                "retransmissions, then giving up", $"{retransmissions} in {limit.TotalSeconds:0} s");
        }

        return retransmissions == 0
            ? Outcome.Failed("never retransmitted to a client that went silent", "retransmissions, then giving up", "none")
            : Outcome.Ok($"{retransmissions} retransmissions to a silent client, the last {(lastAt - started).TotalSeconds:0.0} s after it fell silent, "
                + $"then none for {(probe.Now - lastAt).TotalSeconds:0.0} s");
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>
    /// A duplicate ACK must not be answered with data (RFC 1123 §4.2.3.1), while the timer may send
    /// the segment in flight again at its own rhythm, and a fast retransmit (RFC 5681 §3.2) may send
    /// it once. Two connections stall alike and one gets ten duplicates: the other one's count over
    /// the same second is the timer's share, late and partial answers included in the difference.
    /// </summary>
    private static Outcome DuplicateAckGetsNoData(GatewayTarget target)
    {
        if (target.Page.Length <= 2 * Segments.MaxPayload)
        {
            return Outcome.Unsupported("needs a page of more than 1,024 bytes");
        }

        using var quiet = new Probe(target.EndPoint);
        using var probe = new Probe(target.EndPoint);
        var stall = new ClientScript { StallAfterSegments = 2 };
        FetchResult baseline = Fetch(target, quiet, stall);
        FetchResult result = Fetch(target, probe, stall);
        if (baseline.Taken.Count != 2 || result.Taken.Count != 2)
        {
            return Outcome.Failed($"no second segment: {result.Stalled ?? baseline.Stalled}");
        }

        // Ten copies of the acknowledgment of the first segment while the third waits for its own.
        Datagram first = result.Taken[0];
        for (int i = 0; i < 10; i++)
        {
            probe.Send(result.ClientIsn + 2, first.End, SegmentFlags.Ack);
        }

        TimeSpan window = TimeSpan.FromSeconds(1);
        int answered = probe.Drain(window).Count(d => d.Payload.Length > 0);
        int timer = quiet.DrainWaiting().Count(d => d.Payload.Length > 0); // over a longer window: it stalled first
        return answered - timer >= 3
            ? Outcome.Failed("duplicate ACKs answered with data: the Sorcerer's Apprentice (RFC 1123 §4.2.3.1)",
                $"at most the timer's {timer} segment(s), as to a connection without duplicates, and one fast retransmit",
                $"{answered} segments in {window.TotalSeconds:0} s after 10 duplicate ACKs")
            : Outcome.Ok($"10 duplicate ACKs: {answered} segment(s) in {window.TotalSeconds:0} s, {timer} to a connection without them (the timer's)");
    }

    private static Outcome DuplicateHandshakeAck(GatewayTarget target) =>
        ExactAfter(target, new ClientScript { Faults = [new Duplicate(Way.ToGateway, DatagramKind.HandshakeAck, Copies: 3)] }, "the handshake ACK three times");

    private static Outcome ReorderedAcks(GatewayTarget target) =>
        ExactAfter(target, new ClientScript { Faults = [new DuplicateLate(Way.ToGateway, DatagramKind.HandshakeAck), new DuplicateLate(Way.ToGateway, DatagramKind.AckOfSegment)] }, "each acknowledgment followed by a stale one");

    private static Outcome AckBeyondSent(GatewayTarget target)
    {
        if (target.Page.Length <= Segments.MaxPayload)
        {
            return Outcome.Unsupported("needs a page of more than 512 bytes");
        }

        using var probe = new Probe(target.EndPoint);
        uint isn = (uint)new Random(target.Seed).NextInt64(0, uint.MaxValue);
        Datagram? first = null;
        var early = new List<Datagram>();
        var script = new ClientScript
        {
            Isn = isn,
            InjectBeforeAck = (index, segment) =>
            {
                if (index == 0)
                {
                    // Before our acknowledgment of the first segment, one of 5,000 bytes past it: what
                    // comes in the next 300 ms may be the first segment again, never the next one.
                    first = segment;
                    probe.Send(isn + 2, segment.End + 5000, SegmentFlags.Ack);
                    early.AddRange(probe.Drain(TimeSpan.FromMilliseconds(300)).Where(d => d.Payload.Length > 0 && d.Seq != segment.Seq));
                }

                return [];
            },
        };
        FetchResult result = Fetch(target, probe, script);
        if (early.Count > 0)
        {
            // Harmless here, but with the segment lost on its way a forged or corrupted ACK would
            // leave the client waiting for a segment the gateway has stopped sending.
            return Outcome.Failed("an acknowledgment of bytes never sent moved the transfer on, past a segment the client had not acknowledged",
                $"nothing, or seq={first!.Seq} again", early[0].ToString());
        }

        if (NotExact(target, result) is { } failed)
        {
            return failed with { Detail = $"after an ACK of bytes never sent: {failed.Detail}" };
        }

        return Outcome.Ok("an ACK 5,000 bytes past what was sent moved nothing, and the transfer went on to the whole page");
    }

    private static Outcome ClientRestart(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        Fetch(target, probe, new ClientScript { StallAfterSegments = 1 });
        FetchResult again = Fetch(target, probe, new ClientScript()); // same address and port, new ISN
        if (NotExact(target, again) is { } failed)
        {
            return failed with { Detail = $"a client restarted from the same port with a new ISN: {failed.Detail}" };
        }

        // Answering the first SYN at once serves the device soonest; ending the old connection at
        // that SYN and answering the one sent again is what TCP does with a SYN inside an open
        // connection (RFC 793 §3.9): one retransmission timeout later, the page arrives all the same.
        return again.SynsSent == 1
            ? Outcome.Ok("a client that restarted mid-transfer from the same port, with a new ISN, got the whole page at its first SYN")
            : Outcome.Lenient($"a client that restarted mid-transfer from the same port got the whole page, but only SYN {again.SynsSent} of its SYNs was answered");
    }

    private static Outcome ConcurrentClients(GatewayTarget target)
    {
        // Each client waits after its SYN|ACK until all ten have one: ten handshakes open at once.
        const int Clients = 10;
        using var allOpen = new Barrier(Clients);
        var script = new ClientScript { AfterSynAck = () => allOpen.SignalAndWait(TimeSpan.FromSeconds(5)) };
        var results = new FetchResult[Clients];
        Thread[] threads = [.. Enumerable.Range(0, Clients).Select(i => new Thread(() => results[i] = Fetch(target, script).Result))];
        Array.ForEach(threads, thread => thread.Start());
        Array.ForEach(threads, thread => thread.Join());
        int exact = results.Count(result => NotExact(target, result) is null);
        return exact == Clients
            ? Outcome.Ok($"{Clients} clients with their handshakes open at once, {Clients} pages byte for byte")
            : Outcome.Failed($"{Clients - exact} of {Clients} concurrent clients did not get the page", $"{Clients} of {Clients}", $"{exact} of {Clients}");
    }

    private static IEnumerable<byte[]> Garbage(Random random)
    {
        yield return [];
        yield return [1, 2, 3];
        yield return new byte[11];
        yield return Datagram.Build((uint)random.Next(), (uint)random.Next(), SegmentFlags.Syn | SegmentFlags.Fin);
        yield return Datagram.Build((uint)random.Next(), (uint)random.Next(), SegmentFlags.None);
        yield return Datagram.Build((uint)random.Next(), (uint)random.Next(), SegmentFlags.Ack | SegmentFlags.Syn | SegmentFlags.Fin);
        byte[] noise = new byte[random.Next(12, 600)];
        random.NextBytes(noise);
        if ((noise[11] & 0b111) == (byte)SegmentFlags.Syn)
        {
            noise[11] |= (byte)SegmentFlags.Ack; // a bare SYN from the client's port is a restart, not garbage
        }

        yield return noise;
    }

    private static Outcome GarbageBefore(GatewayTarget target)
    {
        using (var probe = new Probe(target.EndPoint))
        {
            foreach (byte[] garbage in Garbage(new Random(target.Seed)))
            {
                probe.SendRaw(garbage);
            }
        }

        return ExactAfter(target, new ClientScript(), "after runts, random bytes and odd flags from another port");
    }

    private static Outcome GarbageAmid(GatewayTarget target)
    {
        var random = new Random(target.Seed);
        return ExactAfter(target, new ClientScript { InjectBeforeAck = (_, _) => [.. Garbage(random).Where(g => g.Length != 0)] }, "with garbage before each acknowledgment");
    }

    private static Outcome LogFormat(GatewayTarget target)
    {
        if (target.LogPath is null)
        {
            return Outcome.Unsupported("give the gateway's log file with --log to check it");
        }

        int linesBefore = File.Exists(target.LogPath) ? File.ReadAllLines(target.LogPath).Length : 0;
        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript());
        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        Thread.Sleep(TimeSpan.FromSeconds(1)); // a log may be buffered for a moment
        string[] lines = File.Exists(target.LogPath) ? File.ReadAllLines(target.LogPath) : [];
        string? malformed = lines.FirstOrDefault(line => line.StartsWith("RECV", StringComparison.Ordinal) || line.StartsWith("SEND", StringComparison.Ordinal)
            ? !PacketLine().IsMatch(line) : false);
        if (malformed is not null)
        {
            return Outcome.Failed("a packet line not in the spec's format", "RECV|SEND <seq> <ack> [ACK] [SYN] [FIN]", malformed);
        }

        // "For each packet received": each datagram this fetch sent, once as a RECV line (the lines
        // before the fetch left out; a log that started over is read whole).
        var logged = lines.Skip(lines.Length >= linesBefore ? linesBefore : 0).Where(line => line.StartsWith("RECV", StringComparison.Ordinal))
            .GroupBy(line => line).ToDictionary(group => group.Key, group => group.Count());
        string[] sent = [.. probe.PacketLines.Where(line => line.StartsWith("SEND", StringComparison.Ordinal)).Select(line => "RECV" + line[4..])];
        var missing = new List<string>();
        foreach (string line in sent)
        {
            if (logged.GetValueOrDefault(line) > 0)
            {
                logged[line]--;
            }
            else
            {
                missing.Add(line);
            }
        }

        return missing.Count == 0
            ? Outcome.Ok($"each of the {sent.Length} datagrams we sent logged as received, every packet line in the spec's format")
            : Outcome.Failed($"{missing.Count} of the {sent.Length} datagrams we sent are not logged as received", missing[0], "no such line");
    }

    [GeneratedRegex(@"^(RECV|SEND) \d+ \d+( ACK)?( SYN)?( FIN)?$")]
    internal static partial Regex PacketLine();
}
