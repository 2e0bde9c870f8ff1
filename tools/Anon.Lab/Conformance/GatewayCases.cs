using System.Net;
using System.Text.RegularExpressions;
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
        return NotExact(target, result) ?? Outcome.Ok($"{what}: the page arrived byte for byte ({result.Segments.Count} segments received for {result.Taken.Count} taken)");
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
        if (NotExact(target, result) is { } failed)
        {
            return failed;
        }

        Datagram? tooLong = result.Taken.FirstOrDefault(d => d.Payload.Length > Segments.MaxPayload);
        if (tooLong is not null)
        {
            return Outcome.Failed("a segment longer than 512 bytes", "at most 512 bytes", tooLong.ToString());
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
        Retransmitted(target, new ClientScript { LoseSegments = new HashSet<int> { 1 } }, "the second segment lost");

    private static Outcome AckLost(GatewayTarget target) =>
        Retransmitted(target, new ClientScript { LoseAcksOf = new HashSet<int> { 0 } }, "our acknowledgment of the first segment lost");

    private static Outcome FinLost(GatewayTarget target)
    {
        int last = (target.Page.Length + Segments.MaxPayload - 1) / Segments.MaxPayload - 1;
        return Retransmitted(target, new ClientScript { LoseSegments = new HashSet<int> { Math.Max(0, last) } }, "the segment with FIN lost");
    }

    private static Outcome FinAckLost(GatewayTarget target)
    {
        int last = (target.Page.Length + Segments.MaxPayload - 1) / Segments.MaxPayload - 1;
        return Retransmitted(target, new ClientScript { LoseAcksOf = new HashSet<int> { Math.Max(0, last) } }, "our ACK|FIN lost");
    }

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

    private static Outcome RetransmissionsBounded(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript { StallAfterSegments = 1, ReceiveTimeout = TimeSpan.FromSeconds(3) });
        if (result.Taken.Count != 1)
        {
            return Outcome.Failed($"no first segment to stall on: {result.Stalled}");
        }

        // Silent from now on: the gateway should send the segment again a bounded number of times.
        TimeSpan started = probe.Now;
        int retransmissions = 0;
        TimeSpan lastAt = started;
        while (probe.Now - started < TimeSpan.FromSeconds(30) && probe.Receive(TimeSpan.FromSeconds(5)) is { } datagram)
        {
            retransmissions++;
            lastAt = datagram.At;
        }

        return probe.Now - started >= TimeSpan.FromSeconds(30)
            ? Outcome.Failed("still retransmitting to a silent client after 30 s", "a bounded number of retransmissions", $"{retransmissions} in 30 s")
            : retransmissions == 0
                ? Outcome.Failed("never retransmitted to a client that went silent", "retransmissions, then giving up", "none")
                : Outcome.Ok($"{retransmissions} retransmissions to a silent client, the last {(lastAt - started).TotalSeconds:0.0} s after it fell silent, then none");
    }

    private static Outcome DuplicateAckGetsNoData(GatewayTarget target)
    {
        if (target.Page.Length <= 2 * Segments.MaxPayload)
        {
            return Outcome.Unsupported("needs a page of more than 1,024 bytes");
        }

        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript { StallAfterSegments = 2 });
        if (result.Taken.Count != 2)
        {
            return Outcome.Failed($"no second segment: {result.Stalled}");
        }

        // Ten copies of the acknowledgment of the first segment while the third waits for its own.
        Datagram first = result.Taken[0];
        for (int i = 0; i < 10; i++)
        {
            probe.Send(result.ClientIsn + 2, first.End, SegmentFlags.Ack);
        }

        int answers = probe.Drain(TimeSpan.FromMilliseconds(15)).Count(d => d.Payload.Length > 0);
        return answers >= 5
            ? Outcome.Failed("duplicate ACKs answered with data: the Sorcerer's Apprentice (RFC 1123 §4.2.3.1)", "at most a timer's retransmission", $"{answers} segments for 10 duplicate ACKs within 15 ms")
            : Outcome.Ok($"10 duplicate ACKs, {answers} segment(s) within 15 ms (a timer's retransmission at most)");
    }

    private static Outcome DuplicateHandshakeAck(GatewayTarget target) =>
        ExactAfter(target, new ClientScript { HandshakeAckCopies = 3 }, "the handshake ACK three times");

    private static Outcome ReorderedAcks(GatewayTarget target) =>
        ExactAfter(target, new ClientScript { ReorderAcks = true }, "each acknowledgment followed by a stale one");

    private static Outcome AckBeyondSent(GatewayTarget target)
    {
        if (target.Page.Length <= Segments.MaxPayload)
        {
            return Outcome.Unsupported("needs a page of more than 512 bytes");
        }

        using var probe = new Probe(target.EndPoint);
        FetchResult result = Fetch(target, probe, new ClientScript { StallAfterSegments = 1 });
        if (result.Taken.Count != 1)
        {
            return Outcome.Failed($"no first segment: {result.Stalled}");
        }

        // The second segment is in flight (it starts where the first ended); an ACK far past it may
        // at most see it sent again by the timer, never the transfer moved on.
        uint inFlight = result.Taken[0].End;
        probe.Send(result.ClientIsn + 2, inFlight + 5000, SegmentFlags.Ack);
        Datagram? answer = probe.ReceiveWhere(d => d.Payload.Length > 0 && d.Seq != inFlight, TimeSpan.FromMilliseconds(50));
        if (answer is not null)
        {
            return Outcome.Failed("an acknowledgment of bytes never sent moved the transfer on", $"nothing, or seq={inFlight} again", answer.ToString());
        }

        return Outcome.Ok("an ACK 5,000 bytes past what was sent moved nothing");
    }

    private static Outcome ClientRestart(GatewayTarget target)
    {
        using var probe = new Probe(target.EndPoint);
        Fetch(target, probe, new ClientScript { StallAfterSegments = 1 });
        FetchResult again = Fetch(target, probe, new ClientScript()); // same address and port, new ISN
        if (NotExact(target, again) is { } failed)
        {
            return failed;
        }

        // Its old connection still open, the restarted client's first SYN must open the new one.
        return again.SynsSent == 1
            ? Outcome.Ok("a client that restarted mid-transfer from the same port, with a new ISN, got the whole page at its first SYN")
            : Outcome.Failed("the restarted client's SYN was answered only once its old connection had ended", "a SYN|ACK to the first SYN", $"a SYN|ACK to SYN {again.SynsSent}");
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
        return ExactAfter(target, new ClientScript { InjectBeforeAck = _ => [.. Garbage(random).Where(g => g.Length != 0)] }, "with garbage before each acknowledgment");
    }

    private static Outcome LogFormat(GatewayTarget target)
    {
        if (target.LogPath is null)
        {
            return Outcome.Unsupported("give the gateway's log file with --log to check it");
        }

        (FetchResult result, _) = Fetch(target);
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

        string synLine = $"RECV {result.ClientIsn} 0 SYN";
        return lines.Contains(synLine)
            ? Outcome.Ok($"{lines.Count(line => PacketLine().IsMatch(line))} packet lines in the spec's format, our SYN among them")
            : Outcome.Failed("our SYN is not in the gateway's log", synLine, "no such line");
    }

    [GeneratedRegex(@"^(RECV|SEND) \d+ \d+( ACK)?( SYN)?( FIN)?$")]
    internal static partial Regex PacketLine();
}
