using Anon.Lab.Faults;

namespace Anon.Lab.Conformance;

/// <summary>
/// The suite's own gateway and client, by name: readings of the spec other implementations take
/// (which our programs must accept) and broken peers (which the cases must catch).
/// </summary>
public static class Peers
{
    /// <summary>Gateways that read the spec another way; our client must fetch byte-exact from each.</summary>
    public static IReadOnlyDictionary<string, GatewayScript> GatewayReadings { get; } = new Dictionary<string, GatewayScript>
    {
        ["plain"] = new(),
        ["fin-without-ack"] = new() { Fin = FinStyle.Bare },
        ["separate-fin"] = new() { Fin = FinStyle.SeparateWithAck },
        ["separate-bare-fin"] = new() { Fin = FinStyle.SeparateBare },
        ["constant-ack-field"] = new() { ConstantAckField = true },
        ["data-without-ack"] = new() { DataWithoutAck = true, Fin = FinStyle.Bare },
        ["spec-sample"] = new() { Isn = 100, Fin = FinStyle.Bare },
        ["restart-at-second-syn"] = new() { RestartAtSecondSyn = true },
    };

    /// <summary>Broken gateways, each with the case that must catch it and what that case must say.</summary>
    public static IReadOnlyDictionary<string, BrokenGateway> BrokenGateways { get; } = new Dictionary<string, BrokenGateway>
    {
        ["never-retransmits"] = new(new() { NeverRetransmit = true }, "gateway.retransmit.segment-lost", "the second segment lost: the transfer did not complete"),
        ["data-before-handshake-ack"] = new(new() { DataBeforeHandshakeAck = true }, "gateway.handshake.no-data-before-ack", "data before the handshake ACK"),
        ["one-isn"] = new(new() { Isn = 100 }, "gateway.isn.unpredictable", "the same ISN for 5 connections"),
        ["reserved-bits"] = new(new() { Faults = [new SetReservedBits(Way.ToClient, 0x100)] }, "gateway.header.reserved-bits", "a datagram from the gateway has reserved bits set"),
        ["513-byte-segments"] = new(new() { SegmentSize = 513 }, "gateway.data.segment-size", "a segment longer than 512 bytes"),
        ["answers-duplicate-acks"] = new(new() { AnswerDuplicateAcks = true }, "gateway.duplicate-ack.no-data", "duplicate ACKs answered with data"),
        ["answers-every-other-duplicate-ack-late"] = new(new() { AnswerDuplicateAcks = true, AnswerOneDuplicateAckIn = 2, DuplicateAckAnswerDelay = TimeSpan.FromMilliseconds(100) },
            "gateway.duplicate-ack.no-data", "duplicate ACKs answered with data"),
        ["skips-a-byte"] = new(new() { SkipAByte = true }, "gateway.data.sequence-arithmetic", "a segment does not start where segment 1 ended"),
        ["corrupts-content"] = new(new() { Faults = [new FlipPayloadByte(Way.ToClient, Segment: 0, Offset: 0, Bits: 0x20)] }, "gateway.content.byte-exact", "the content differs from the page at byte 0"),
        ["never-fin"] = new(new() { Fin = FinStyle.Never }, "gateway.fin.last-segment", "the whole page arrived, but no segment carried FIN"),
        ["ignores-fin-ack"] = new(new() { IgnoreFinAck = true, MaximumRetransmissions = 3 }, "gateway.close.quiet-after-fin-ack", "the gateway kept sending after the client's ACK|FIN"),
        ["syn-ack-off-by-one"] = new(new() { Faults = [new ChangeAckField(Way.ToClient, DatagramKind.SynAck, ack => ack - 1)] }, "gateway.handshake.syn-ack", "the answer to a SYN is not SYN|ACK acknowledging ISN + 1"),
        ["retransmits-forever"] = new(new() { MaximumRetransmissions = int.MaxValue, RetransmissionTimeout = TimeSpan.FromMilliseconds(300) }, "gateway.retransmit.bounded", "still retransmitting to a silent client"),
        ["backs-off-forever"] = new(new() { MaximumRetransmissions = int.MaxValue, RetransmissionTimeout = TimeSpan.FromMilliseconds(100), BackOff = true }, "gateway.retransmit.bounded", "still retransmitting to a silent client"),
        ["takes-any-handshake-ack"] = new(new() { AcceptAnyHandshakeAck = true }, "gateway.handshake.forged-ack", "data to a client that never completed the handshake"),
        ["moves-on-any-ack"] = new(new() { AdvanceOnAnyAck = true }, "gateway.ack.beyond-sent", "an acknowledgment of bytes never sent moved the transfer on"),
        ["drops-the-connection-on-an-ack-beyond-sent"] = new(new() { AbortOnAckBeyondSent = true }, "gateway.ack.beyond-sent", "after an ACK of bytes never sent: the transfer did not complete"),
        ["pads-syn-ack"] = new(new() { Faults = [new PadPayload(Way.ToClient, DatagramKind.SynAck, 512)] }, "gateway.handshake.syn-answer-size", "an amplifier"),
        ["data-from-isn"] = new(new() { DataFromIsn = true }, "gateway.data.first-segment", "the first segment does not start at the gateway's ISN + 1"),
        ["ack-field-zero"] = new(new() { Faults = [new ChangeAckField(Way.ToClient, DatagramKind.Segment, _ => 0)] }, "gateway.data.ack-field", "the ack field is neither"),
        ["answers-one-syn"] = new(new() { IgnoreRepeatedSyn = true, NeverRetransmit = true }, "gateway.retransmit.syn-ack-lost", "the SYN sent again got no SYN|ACK"),
        ["forgets-half-open"] = new(new() { HalfOpenLifetime = TimeSpan.FromMilliseconds(500) }, "gateway.retransmit.handshake-ack-lost", "the handshake ACK sent 1 s late, as a retransmission would be: the transfer did not complete"),
        ["retransmits-on-duplicate-acks-only"] = new(new() { AnswerDuplicateAcks = true, NeverRetransmit = true }, "gateway.retransmit.ack-lost", "our acknowledgment of the first segment lost: the transfer did not complete"),
        ["never-retransmits-fin"] = new(new() { NeverRetransmitFin = true }, "gateway.retransmit.fin-lost", "the segment with FIN lost: the transfer did not complete"),
        ["drops-fin-when-retransmitting"] = new(new() { RetransmitFinWithoutFlag = true }, "gateway.retransmit.fin-ack-lost", "the segment sent again differs from the first"),
        ["aborts-on-repeated-handshake-ack"] = new(new() { AbortOnRepeatedHandshakeAck = true }, "gateway.duplicate.handshake-ack", "the handshake ACK three times: the transfer did not complete"),
        ["aborts-on-stale-ack"] = new(new() { AbortOnStaleAck = true }, "gateway.reorder.acks", "each acknowledgment followed by a stale one: the transfer did not complete"),
        ["ignores-new-syn-from-known-peer"] = new(new() { IgnoreNewSynFromKnownPeer = true }, "gateway.restart.client", "a client restarted from the same port with a new ISN: the transfer did not complete"),
        ["one-connection-for-all"] = new(new() { SingleConnection = true }, "gateway.concurrent.clients", "of 10 concurrent clients did not get the page"),
        ["dies-on-a-runt"] = new(new() { DieOnRunt = true }, "gateway.garbage.before", "after runts, random bytes and odd flags from another port: the transfer did not complete"),
        ["syn-bit-restarts"] = new(new() { AnySynBitRestarts = true }, "gateway.garbage.amid", "with garbage before each acknowledgment: the transfer did not complete"),
        ["malformed-log"] = new(new() { MalformedLog = true }, "gateway.log.format", "a packet line not in the spec's format"),
        ["logs-only-syns"] = new(new() { LogOnlySyns = true }, "gateway.log.format", "datagrams we sent are not logged as received"),
    };

    /// <summary>Clients that read the spec another way; our gateway must serve each to a clean close.</summary>
    public static IReadOnlyDictionary<string, ClientScript> ClientReadings { get; } = new Dictionary<string, ClientScript>
    {
        ["plain"] = new(),
        ["seq-constant"] = new() { Sequence = SequenceStyle.Constant },
        ["seq-plus-bytes"] = new() { Sequence = SequenceStyle.PlusBytes },
        ["plain-ack-before-fin"] = new() { PlainAckBeforeFin = true },
        ["fin-takes-sequence-number"] = new() { PlainAckBeforeFin = true, FinTakesSequenceNumber = true },
        ["closes-with-bare-fin"] = new() { CloseWithBareFin = true },
    };

    /// <summary>Broken clients, each with the case that must catch it and what that case must say.</summary>
    public static IReadOnlyDictionary<string, BrokenClient> BrokenClients { get; } =
        new Dictionary<string, BrokenClient>
        {
            ["appends-duplicates"] = new(new() { AppendDuplicates = true }, ClientDefect.None, "client.duplicate.segments", "every segment sent twice: the file differs from the page"),
            ["never-fin-ack"] = new(new() { NeverFinAck = true }, ClientDefect.None, "client.fin.fin-ack", "the FIN was not answered with ACK|FIN"),
            ["ack-one-too-far"] = new(new() { AckOneTooFar = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.data.ack-arithmetic", "an acknowledgment is not seq + the bytes received"),
            ["syn-with-ack"] = new(new() { SynWithAck = true, MaximumSilentWaits = 1 }, ClientDefect.None, "client.handshake.syn", "the first datagram is not a bare SYN"),
            ["fixed-isn"] = new(new() { Isn = 12345 }, ClientDefect.None, "client.isn.unpredictable", "the same ISN in more than one of 3 runs"),
            ["reserved-bits"] = new(new() { Faults = [new SetReservedBits(Way.ToGateway, 0x100)] }, ClientDefect.None, "client.header.reserved-bits", "a datagram with reserved bits set"),
            ["never-retransmits"] = new(new() { NeverRetransmit = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.syn-lost", "the first SYN lost: no output file"),
            ["second-line-command"] = new(new(), ClientDefect.SecondLineCommand, "client.command.executed", "the client speaks of ON for a page whose first line is COMMAND=LIGHTOFF"),
            ["partial-file"] = new(new() { MaximumSilentWaits = 2 }, ClientDefect.PartialFileOnFailure, "client.failure.stalled-gateway", "a transfer cut short left a file: a partial page"),
            ["never-gives-up"] = new(new() { MaximumSilentWaits = 1000 }, ClientDefect.None, "client.failure.silent-gateway", "a gateway that never answers, and the client did not give up"),
            ["malformed-log"] = new(new(), ClientDefect.MalformedLog, "client.log.format", "a packet line not in the spec's format"),
            ["logs-only-syn-acks"] = new(new(), ClientDefect.LogsOnlySynAcks, "client.log.format", "datagrams received are not logged"),
            ["handshake-ack-off-by-one"] = new(new() { Faults = [new ChangeAckField(Way.ToGateway, DatagramKind.HandshakeAck, ack => ack - 1)], MaximumSilentWaits = 2 }, ClientDefect.None, "client.handshake.ack", "the third packet is not seq = ISN + 1, ack = gateway ISN + 1, ACK"),
            ["acks-with-its-isn"] = new(new() { Sequence = SequenceStyle.Isn }, ClientDefect.None, "client.data.ack-sequence", "the client's seq went back"),
            ["appends-a-newline"] = new(new(), ClientDefect.AppendsNewline, "client.content.file", "a plain transfer: the file differs from the page"),
            ["silent-on-a-bad-command"] = new(new(), ClientDefect.SilentOnBadCommand, "client.command.unparsable", "no error said, logged or in the exit code"),
            ["answers-one-syn-ack"] = new(new() { IgnoreRepeatedSynAck = true, NeverRetransmit = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.handshake-ack-lost", "the first handshake ACK lost: no output file"),
            ["gives-up-at-first-silence"] = new(new() { ReceiveTimeout = TimeSpan.FromMilliseconds(100), MaximumSilentWaits = 1 }, ClientDefect.None, "client.retransmit.segment-lost", "the second segment lost: no output file"),
            ["never-acks-a-duplicate"] = new(new() { IgnoreDuplicates = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.ack-lost", "the acknowledgment of the first segment lost: no output file"),
            ["fails-on-fin-again"] = new(new() { FinAgainIsAnError = true }, ClientDefect.None, "client.retransmit.fin-ack-lost", "the ACK|FIN lost: no output file"),
            ["aborts-on-second-syn-ack"] = new(new() { AbortOnSecondSynAck = true }, ClientDefect.None, "client.duplicate.syn-ack", "the SYN|ACK sent twice: no output file"),
            ["takes-in-arrival-order"] = new(new() { TakeInArrivalOrder = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reorder.segments", "the third segment before the second: no output file"),
            ["dies-on-a-runt"] = new(new() { DieOnRunt = true }, ClientDefect.None, "client.garbage.amid", "runts, far-ahead segments and odd flags before each segment: no output file"),
            ["takes-oversize"] = new(new() { TakeOversize = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.segment.oversize", "a 600-byte segment at the expected seq before the real one: no output file"),
            ["reads-from-anyone"] = new(new() { FromAnyone = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.segment.from-stranger", "a forged segment from another port before the second: the file differs from the page"),
            ["drops-reserved-bits"] = new(new() { DropReservedBits = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.header.reserved-bits-ignored", "every header with a reserved bit set: no output file"),
            ["requires-ack-flag"] = new(new() { RequireAckFlag = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.fin-without-ack", "the last segment with FIN and no ACK, as the sample draws it: no output file"),
            ["ignores-empty-segments"] = new(new() { IgnoreEmptySegments = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.separate-fin", "the data, then an empty ACK|FIN: no output file"),
            ["checks-ack-field"] = new(new() { RequireCountingAckField = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.constant-ack-field", "the gateway's ack field constant: no output file"),
            ["ends-on-a-short-segment"] = new(new() { FinOnlyOnShortSegment = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.page.multiple-of-512", "a 1,024-byte page (a full last segment with FIN): no output file"),
            ["waits-for-data-first"] = new(new() { WaitForDataFirst = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.page.empty", "an empty page: the FIN was never answered"),
            ["no-wraparound"] = new(new() { NoWraparound = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.sequence.wraparound", "a gateway ISN 700 below 2^32: no output file"),
        };
}

/// <summary>A gateway broken on purpose.</summary>
/// <param name="CaughtBy">The case that must fail it.</param>
/// <param name="Shows">Words of that case's detail that show it was caught for what it breaks (not by a case that could not run).</param>
public sealed record BrokenGateway(GatewayScript Script, string CaughtBy, string Shows);

/// <summary>A client broken on purpose, on the wire or outside it.</summary>
/// <param name="CaughtBy">The case that must fail it.</param>
/// <param name="Shows">Words of that case's detail that show it was caught for what it breaks.</param>
public sealed record BrokenClient(ClientScript Script, ClientDefect Defect, string CaughtBy, string Shows);

/// <summary>What a broken client does wrong outside the wire.</summary>
public enum ClientDefect
{
    None,

    /// <summary>Executes the command on the page's second line.</summary>
    SecondLineCommand,

    /// <summary>Writes what it has when the transfer fails.</summary>
    PartialFileOnFailure,

    /// <summary>Logs packets as "RECV seq=1 ack=2".</summary>
    MalformedLog,

    /// <summary>Logs only the SYN|ACKs it receives.</summary>
    LogsOnlySynAcks,

    /// <summary>Writes the page with a newline added.</summary>
    AppendsNewline,

    /// <summary>Exits 0 and says nothing when the first line is no command.</summary>
    SilentOnBadCommand,
}

/// <summary>The suite's client as a program (<c>anon-lab conformance peer-client</c>): one fetch, the file, the command.</summary>
public static class PeerClient
{
    public static int Run(System.Net.IPEndPoint gateway, string logPath, string outputPath, ClientScript script, ClientDefect defect, TextWriter output)
    {
        using var probe = new Probe(gateway, script.FromAnyone);
        FetchResult result = SuiteClient.Fetch(probe, script with { Linger = TimeSpan.FromMilliseconds(500) });
        File.WriteAllLines(logPath, defect switch
        {
            ClientDefect.MalformedLog => probe.PacketLines.Select(BrokenLog.Line),
            ClientDefect.LogsOnlySynAcks => probe.PacketLines.Where(line => line.StartsWith("RECV", StringComparison.Ordinal) && line.EndsWith("ACK SYN", StringComparison.Ordinal)),
            _ => probe.PacketLines,
        });
        byte[] content = [.. result.Content];
        if (!result.Completed)
        {
            if (defect == ClientDefect.PartialFileOnFailure)
            {
                File.WriteAllBytes(outputPath, content);
            }

            output.WriteLine($"peer-client: the transfer failed: {result.Stalled}");
            return 69;
        }

        File.WriteAllBytes(outputPath, defect == ClientDefect.AppendsNewline ? [.. content, (byte)'\n'] : content);
        string[] lines = System.Text.Encoding.ASCII.GetString(content).Split('\n');
        string line = (defect == ClientDefect.SecondLineCommand && lines.Length > 1 ? lines[1] : lines[0]).Trim();
        switch (line.ToUpperInvariant())
        {
            case "COMMAND=LIGHTON":
                output.WriteLine("peer-client: LED is ON");
                return 0;
            case "COMMAND=LIGHTOFF":
                output.WriteLine("peer-client: LED is OFF");
                return 0;
            case var _ when defect == ClientDefect.SilentOnBadCommand:
                return 0;
            default:
                output.WriteLine($"peer-client: error: cannot parse the command \"{line}\"");
                return 65;
        }
    }
}

/// <summary>The log line of a broken peer: "RECV seq=1 ack=2", its flags left out.</summary>
internal static class BrokenLog
{
    public static string Line(string line) =>
        string.Join(' ', line.Split(' ').Take(3).Select((word, i) => i switch { 1 => "seq=" + word, 2 => "ack=" + word, _ => word }));
}
