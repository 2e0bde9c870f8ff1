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
    };

    /// <summary>Broken gateways, each with the case that must catch it.</summary>
    public static IReadOnlyDictionary<string, (GatewayScript Script, string CaughtBy)> BrokenGateways { get; } = new Dictionary<string, (GatewayScript, string)>
    {
        ["never-retransmits"] = (new() { NeverRetransmit = true }, "gateway.retransmit.segment-lost"),
        ["data-before-handshake-ack"] = (new() { DataBeforeHandshakeAck = true }, "gateway.handshake.no-data-before-ack"),
        ["one-isn"] = (new() { Isn = 100 }, "gateway.isn.unpredictable"),
        ["reserved-bits"] = (new() { ReservedBits = 0x100 }, "gateway.header.reserved-bits"),
        ["513-byte-segments"] = (new() { SegmentSize = 513 }, "gateway.data.segment-size"),
        ["answers-duplicate-acks"] = (new() { AnswerDuplicateAcks = true }, "gateway.duplicate-ack.no-data"),
        ["skips-a-byte"] = (new() { SkipAByte = true }, "gateway.data.sequence-arithmetic"),
        ["corrupts-content"] = (new() { CorruptContent = true }, "gateway.content.byte-exact"),
        ["never-fin"] = (new() { Fin = FinStyle.Never }, "gateway.fin.last-segment"),
        ["ignores-fin-ack"] = (new() { IgnoreFinAck = true, MaximumRetransmissions = 3 }, "gateway.close.quiet-after-fin-ack"),
        ["syn-ack-off-by-one"] = (new() { SynAckAckOffByOne = true }, "gateway.handshake.syn-ack"),
        ["retransmits-forever"] = (new() { MaximumRetransmissions = int.MaxValue, RetransmissionTimeout = TimeSpan.FromMilliseconds(300) }, "gateway.retransmit.bounded"),
        ["takes-any-handshake-ack"] = (new() { AcceptAnyHandshakeAck = true }, "gateway.handshake.forged-ack"),
        ["moves-on-any-ack"] = (new() { AdvanceOnAnyAck = true }, "gateway.ack.beyond-sent"),
        ["pads-syn-ack"] = (new() { SynAckPadding = 512 }, "gateway.handshake.syn-answer-size"),
        ["data-from-isn"] = (new() { DataFromIsn = true }, "gateway.data.first-segment"),
        ["ack-field-zero"] = (new() { AckFieldZero = true }, "gateway.data.ack-field"),
        ["answers-one-syn"] = (new() { IgnoreRepeatedSyn = true, NeverRetransmit = true }, "gateway.retransmit.syn-ack-lost"),
        ["forgets-half-open"] = (new() { HalfOpenLifetime = TimeSpan.FromMilliseconds(500) }, "gateway.retransmit.handshake-ack-lost"),
        ["retransmits-on-duplicate-acks-only"] = (new() { AnswerDuplicateAcks = true, NeverRetransmit = true }, "gateway.retransmit.ack-lost"),
        ["never-retransmits-fin"] = (new() { NeverRetransmitFin = true }, "gateway.retransmit.fin-lost"),
        ["drops-fin-when-retransmitting"] = (new() { RetransmitFinWithoutFlag = true }, "gateway.retransmit.fin-ack-lost"),
        ["aborts-on-repeated-handshake-ack"] = (new() { AbortOnRepeatedHandshakeAck = true }, "gateway.duplicate.handshake-ack"),
        ["aborts-on-stale-ack"] = (new() { AbortOnStaleAck = true }, "gateway.reorder.acks"),
        ["ignores-new-syn-from-known-peer"] = (new() { IgnoreNewSynFromKnownPeer = true }, "gateway.restart.client"),
        ["one-connection-for-all"] = (new() { SingleConnection = true }, "gateway.concurrent.clients"),
        ["dies-on-a-runt"] = (new() { DieOnRunt = true }, "gateway.garbage.before"),
        ["syn-bit-restarts"] = (new() { AnySynBitRestarts = true }, "gateway.garbage.amid"),
        ["malformed-log"] = (new() { MalformedLog = true }, "gateway.log.format"),
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

    /// <summary>Broken clients, each with the case that must catch it.</summary>
    public static IReadOnlyDictionary<string, (ClientScript Script, ClientDefect Defect, string CaughtBy)> BrokenClients { get; } =
        new Dictionary<string, (ClientScript, ClientDefect, string)>
        {
            ["appends-duplicates"] = (new() { AppendDuplicates = true }, ClientDefect.None, "client.duplicate.segments"),
            ["never-fin-ack"] = (new() { NeverFinAck = true }, ClientDefect.None, "client.fin.fin-ack"),
            ["ack-one-too-far"] = (new() { AckOneTooFar = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.data.ack-arithmetic"),
            ["syn-with-ack"] = (new() { SynWithAck = true, MaximumSilentWaits = 1 }, ClientDefect.None, "client.handshake.syn"),
            ["fixed-isn"] = (new() { Isn = 12345 }, ClientDefect.None, "client.isn.unpredictable"),
            ["reserved-bits"] = (new() { ReservedBits = 0x100 }, ClientDefect.None, "client.header.reserved-bits"),
            ["never-retransmits"] = (new() { NeverRetransmit = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.syn-lost"),
            ["second-line-command"] = (new(), ClientDefect.SecondLineCommand, "client.command.executed"),
            ["partial-file"] = (new() { MaximumSilentWaits = 2 }, ClientDefect.PartialFileOnFailure, "client.failure.stalled-gateway"),
            ["never-gives-up"] = (new() { MaximumSilentWaits = 1000 }, ClientDefect.None, "client.failure.silent-gateway"),
            ["malformed-log"] = (new(), ClientDefect.MalformedLog, "client.log.format"),
            ["handshake-ack-off-by-one"] = (new() { HandshakeAckOffByOne = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.handshake.ack"),
            ["acks-with-its-isn"] = (new() { Sequence = SequenceStyle.Isn }, ClientDefect.None, "client.data.ack-sequence"),
            ["appends-a-newline"] = (new(), ClientDefect.AppendsNewline, "client.content.file"),
            ["silent-on-a-bad-command"] = (new(), ClientDefect.SilentOnBadCommand, "client.command.unparsable"),
            ["answers-one-syn-ack"] = (new() { IgnoreRepeatedSynAck = true, NeverRetransmit = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.handshake-ack-lost"),
            ["gives-up-at-first-silence"] = (new() { ReceiveTimeout = TimeSpan.FromMilliseconds(100), MaximumSilentWaits = 1 }, ClientDefect.None, "client.retransmit.segment-lost"),
            ["never-acks-a-duplicate"] = (new() { IgnoreDuplicates = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.retransmit.ack-lost"),
            ["fails-on-fin-again"] = (new() { FinAgainIsAnError = true }, ClientDefect.None, "client.retransmit.fin-ack-lost"),
            ["aborts-on-second-syn-ack"] = (new() { AbortOnSecondSynAck = true }, ClientDefect.None, "client.duplicate.syn-ack"),
            ["takes-in-arrival-order"] = (new() { TakeInArrivalOrder = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reorder.segments"),
            ["dies-on-a-runt"] = (new() { DieOnRunt = true }, ClientDefect.None, "client.garbage.amid"),
            ["takes-oversize"] = (new() { TakeOversize = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.segment.oversize"),
            ["reads-from-anyone"] = (new() { FromAnyone = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.segment.from-stranger"),
            ["drops-reserved-bits"] = (new() { DropReservedBits = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.header.reserved-bits-ignored"),
            ["requires-ack-flag"] = (new() { RequireAckFlag = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.fin-without-ack"),
            ["ignores-empty-segments"] = (new() { IgnoreEmptySegments = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.separate-fin"),
            ["checks-ack-field"] = (new() { RequireCountingAckField = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.reading.constant-ack-field"),
            ["ends-on-a-short-segment"] = (new() { FinOnlyOnShortSegment = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.page.multiple-of-512"),
            ["waits-for-data-first"] = (new() { WaitForDataFirst = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.page.empty"),
            ["no-wraparound"] = (new() { NoWraparound = true, MaximumSilentWaits = 2 }, ClientDefect.None, "client.sequence.wraparound"),
        };
}

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
        File.WriteAllLines(logPath, defect == ClientDefect.MalformedLog ? probe.PacketLines.Select(BrokenLog.Line) : probe.PacketLines);
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
