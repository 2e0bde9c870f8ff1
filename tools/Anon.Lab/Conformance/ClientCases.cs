using System.Text;
using Anon.Commands;
using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>
/// A client under test: the command that starts it, with <c>{host}</c>, <c>{port}</c>, <c>{log}</c>
/// and <c>{out}</c> replaced per case, and the page the suite's gateway serves it.
/// </summary>
public sealed record ClientTarget(IReadOnlyList<string> Command, byte[] Page, TimeSpan RunTimeout, int Seed = 1);

/// <summary>What one run of the client under test did.</summary>
public sealed record ClientRun(ProcessResult Process, bool TimedOut, byte[]? Output, string[] LogLines, List<Exchanged> Exchanges)
{
    public List<Datagram> FromClient => [.. Exchanges.Where(e => e.FromClient).Select(e => e.Datagram)];

    public string Said => Process.Output + Process.Error + string.Join('\n', LogLines);
}

/// <summary>The cases that play the gateway to a client (<c>anon-lab conformance client</c>).</summary>
public static class ClientCases
{
    public static IReadOnlyList<ConformanceCase<ClientTarget>> All { get; } =
    [
        new("client.handshake.syn", Spec.Step1, Syn),
        new("client.header.reserved-bits", Spec.NotUsed, ReservedBitsZero),
        new("client.isn.unpredictable", Spec.Isn, IsnUnpredictable),
        new("client.handshake.ack", Spec.Step3, HandshakeAck),
        new("client.data.ack-arithmetic", Spec.ClientAck, AckArithmetic),
        new("client.data.ack-sequence", Spec.ClientAck, AckSequence),
        new("client.fin.fin-ack", Spec.FinAck, FinAck),
        new("client.content.file", Spec.Write, FileExact),
        new("client.command.executed", Spec.Execute, CommandExecuted),
        new("client.command.unparsable", Spec.Execute, CommandUnparsable),
        new("client.retransmit.syn-lost", Spec.Robust, SynLost),
        new("client.retransmit.handshake-ack-lost", Spec.Robust, HandshakeAckLost),
        new("client.retransmit.segment-lost", Spec.Robust, SegmentLost),
        new("client.retransmit.ack-lost", Spec.Robust, AckLost),
        new("client.retransmit.fin-ack-lost", Spec.Robust, FinAckLost),
        new("client.duplicate.segments", Spec.Robust, DuplicateSegments),
        new("client.duplicate.syn-ack", Spec.Robust, DuplicateSynAck),
        new("client.reorder.segments", Spec.Robust, ReorderedSegments),
        new("client.garbage.amid", Spec.Header, Garbage),
        new("client.segment.oversize", Spec.Data, Oversize),
        new("client.segment.from-stranger", Spec.Robust, Stranger),
        new("client.header.reserved-bits-ignored", Spec.NotUsed, ReservedBitsIgnored),
        new("client.reading.fin-without-ack", Spec.Sample, FinWithoutAck),
        new("client.reading.separate-fin", Spec.Fin, SeparateFin),
        new("client.reading.constant-ack-field", Spec.Data, ConstantAckField),
        new("client.page.multiple-of-512", Spec.Data, MultipleOf512),
        new("client.page.empty", Spec.Fin, EmptyPage),
        new("client.sequence.wraparound", Spec.SequenceNumber, Wraparound),
        new("client.failure.silent-gateway", Spec.Robust, SilentGateway),
        new("client.failure.stalled-gateway", Spec.Robust, StalledGateway),
        new("client.log.format", Spec.Log, LogFormat),
    ];

    /// <summary>Serves <paramref name="page"/> (the target's by default) as <paramref name="script"/> says and runs the client once.</summary>
    public static ClientRun Run(ClientTarget target, GatewayScript script, byte[]? page = null)
    {
        using var gateway = new SuiteGateway(page ?? target.Page, script);
        string directory = Directory.CreateTempSubdirectory("anon-conformance-").FullName;
        try
        {
            string log = Path.Combine(directory, "client.log");
            string output = Path.Combine(directory, "page.out");
            string[] command = [.. target.Command.Select(part => part
                .Replace("{host}", "127.0.0.1", StringComparison.Ordinal)
                .Replace("{port}", gateway.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{log}", log, StringComparison.Ordinal)
                .Replace("{out}", output, StringComparison.Ordinal))];
            ProcessResult result = Programs.RunAsync(command[0], command[1..], target.RunTimeout).GetAwaiter().GetResult();
            gateway.Settle(); // the client has exited: what it sent is all in the gateway's socket or record
            return new ClientRun(
                result,
                result.ExitCode == -1 && result.Error.Contains("(killed after", StringComparison.Ordinal),
                File.Exists(output) ? File.ReadAllBytes(output) : null,
                File.Exists(log) ? File.ReadAllLines(log) : [],
                gateway.Exchanges);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Outcome? NotExact(ClientRun run, byte[] page, string what)
    {
        if (run.TimedOut)
        {
            return Outcome.Failed($"{what}: the client did not exit within its time", "exit code 0 and the page in the file", "still running");
        }

        if (run.Output is null)
        {
            return Outcome.Failed($"{what}: no output file (exit code {run.Process.ExitCode})", $"{page.Length} bytes", "no file");
        }

        if (!run.Output.AsSpan().SequenceEqual(page))
        {
            return Outcome.Failed($"{what}: the file differs from the page", $"{page.Length} bytes", $"{run.Output.Length} bytes");
        }

        return null;
    }

    private static Outcome Exact(ClientTarget target, GatewayScript script, string what, byte[]? page = null)
    {
        ClientRun run = Run(target, script, page);
        return NotExact(run, page ?? target.Page, what) ?? Outcome.Ok($"{what}: the file holds the page byte for byte (exit code {run.Process.ExitCode})");
    }

    private static Outcome Syn(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        Datagram? first = run.FromClient.FirstOrDefault();
        if (first is null)
        {
            return Outcome.Failed("nothing came from the client", "seq=<ISN> ack=0 SYN len=0", "nothing");
        }

        if (!first.Is(SegmentFlags.Syn) || first.Payload.Length != 0)
        {
            return Outcome.Failed("the first datagram is not a bare SYN", "seq=<ISN> ack=0 SYN len=0", first.ToString());
        }

        return first.Ack == 0 ? Outcome.Ok($"the first datagram: {first}") : Outcome.Lenient($"the SYN's ack field is not 0: {first}");
    }

    private static Outcome ReservedBitsZero(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        Datagram? bad = run.FromClient.FirstOrDefault(d => d.Header.HasReservedBits);
        return bad is null
            ? run.FromClient.Count == 0 ? Outcome.Failed("nothing came from the client") : Outcome.Ok($"{run.FromClient.Count} datagrams, none with a reserved bit set")
            : Outcome.Failed("a datagram with reserved bits set", "the 29 unused bits zero", bad.ToString());
    }

    private static Outcome IsnUnpredictable(ClientTarget target)
    {
        uint[] isns = [.. Enumerable.Range(0, 3).Select(_ => Run(target, new GatewayScript()).FromClient.FirstOrDefault(d => d.Header.IsSyn)?.Seq ?? 0)];
        string seen = string.Join(", ", isns);
        return isns.Distinct().Count() == isns.Length
            ? Outcome.Ok($"3 runs, 3 ISNs: {seen}")
            : Outcome.Failed($"the same ISN in more than one of 3 runs: {seen}", "an ISN chosen at random per run", seen);
    }

    private static Outcome HandshakeAck(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript { Isn = 100 });
        List<Datagram> sent = run.FromClient;
        Datagram? syn = sent.FirstOrDefault(d => d.Header.IsSyn);
        Datagram? ack = sent.FirstOrDefault(d => !d.Header.IsSyn);
        if (syn is null || ack is null)
        {
            return Outcome.Failed("no handshake ACK after the SYN|ACK");
        }

        string expected = $"seq={syn.Seq + 1} ack=101 ACK len=0";
        return ack.Is(SegmentFlags.Ack) && ack.Seq == syn.Seq + 1 && ack.Ack == 101 && ack.Payload.Length == 0
            ? Outcome.Ok($"handshake ACK {ack}")
            : Outcome.Failed("the third packet is not seq = ISN + 1, ack = gateway ISN + 1, ACK", expected, ack.ToString());
    }

    /// <summary>The client's acknowledgments against the segments it was sent, in order.</summary>
    private static List<(Datagram Segment, Datagram? Answer)> Answers(ClientRun run)
    {
        var pairs = new List<(Datagram, Datagram?)>();
        Datagram? pending = null;
        foreach (Exchanged e in run.Exchanges)
        {
            if (!e.FromClient && !e.Lost && (e.Datagram.Payload.Length > 0 || e.Datagram.Header.IsFin))
            {
                if (pending is not null)
                {
                    pairs.Add((pending, null));
                }

                pending = e.Datagram;
            }
            else if (e.FromClient && pending is not null && e.Datagram.Header.IsAck && !e.Datagram.Header.IsSyn)
            {
                pairs.Add((pending, e.Datagram));
                pending = null;
            }
        }

        return pairs;
    }

    private static Outcome AckArithmetic(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        List<(Datagram Segment, Datagram? Answer)> answers = Answers(run);
        if (answers.Count == 0)
        {
            return Outcome.Failed("no segment was acknowledged");
        }

        foreach ((Datagram segment, Datagram? answer) in answers)
        {
            if (answer is null)
            {
                return Outcome.Failed("a segment was not acknowledged", $"ack={segment.End}", "nothing");
            }

            if (answer.Ack != segment.End && !(segment.Header.IsFin && answer.Ack == segment.End + 1))
            {
                return Outcome.Failed("an acknowledgment is not seq + the bytes received", $"ack={segment.End} for {segment}", answer.ToString());
            }
        }

        return Outcome.Ok($"{answers.Count} acknowledgments, each ack = seq + payload length");
    }

    private static Outcome AckSequence(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        List<Datagram> acks = [.. run.FromClient.Where(d => d.Header.IsAck && !d.Header.IsSyn)];
        if (acks.Count < 2)
        {
            return Outcome.Failed("fewer than two acknowledgments came");
        }

        int[] steps = [.. acks.Zip(acks.Skip(1), (a, b) => (int)(b.Seq - a.Seq))];
        int back = Array.FindIndex(steps, step => step < 0);
        if (back >= 0)
        {
            return Outcome.Failed("the client's seq went back: sequence numbers only move forward", $"seq >= {acks[back].Seq}", acks[back + 1].ToString());
        }

        return steps.All(step => step == 1)
            ? Outcome.Ok($"the client's seq goes up by one with each new acknowledgment, as in the sample ({acks[0].Seq}, {acks[1].Seq}, ...)")
            : Outcome.Lenient($"the client's seq does not go up by one per acknowledgment as in the sample ({string.Join(", ", acks.Take(4).Select(a => a.Seq))}, ...)");
    }

    private static Outcome FinAck(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        Datagram? fin = run.Exchanges.LastOrDefault(e => !e.FromClient && e.Datagram.Header.IsFin)?.Datagram;
        if (fin is null)
        {
            return Outcome.Failed("the transfer never reached the FIN");
        }

        List<Datagram> after = [.. run.Exchanges.SkipWhile(e => e.Datagram != fin).Where(e => e.FromClient).Select(e => e.Datagram)];
        Datagram? finAck = after.FirstOrDefault(d => d.Header.IsFin);
        if (finAck is null)
        {
            return Outcome.Failed("the FIN was not answered with ACK|FIN", $"ACK|FIN ack={fin.End}", after.FirstOrDefault()?.ToString() ?? "nothing");
        }

        if (!finAck.Is(SegmentFlags.Ack | SegmentFlags.Fin))
        {
            return Outcome.Failed("the answer to the FIN is not ACK|FIN", $"ACK|FIN ack={fin.End}", finAck.ToString());
        }

        if (finAck.Ack == fin.End + 1)
        {
            return Outcome.Lenient($"the ACK|FIN counts the FIN as a sequence number (TCP's habit; the sample says {fin.End}): {finAck}");
        }

        if (finAck.Ack != fin.End)
        {
            return Outcome.Failed("the ACK|FIN does not acknowledge the end of the data", $"ack={fin.End}", finAck.ToString());
        }

        return after[0] == finAck
            ? Outcome.Ok($"FIN answered with {finAck}")
            : Outcome.Lenient($"a plain ACK before the ACK|FIN: {after[0]}, then {finAck}");
    }

    private static Outcome FileExact(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        if (NotExact(run, target.Page, "a plain transfer") is { } failed)
        {
            return failed;
        }

        bool commandPage = CommandPage.TryParse(target.Page, out _);
        return run.Process.ExitCode == 0 || !commandPage
            ? Outcome.Ok($"the file holds the page byte for byte, exit code {run.Process.ExitCode}")
            : Outcome.Failed("the page arrived whole but the client exited non-zero", "exit code 0", $"exit code {run.Process.ExitCode}");
    }

    private static Outcome CommandExecuted(ClientTarget target)
    {
        // LIGHTOFF on the first line, LIGHTON on the second: only the first line is the command.
        byte[] page = Encoding.ASCII.GetBytes("COMMAND=LIGHTOFF\nCOMMAND=LIGHTON\n" + new string('.', 600) + "\n");
        ClientRun run = Run(target, new GatewayScript(), page);
        if (NotExact(run, page, "a LIGHTOFF page") is { } failed)
        {
            return failed;
        }

        string said = run.Said.ToUpperInvariant();
        bool off = said.Contains("OFF", StringComparison.Ordinal);
        bool on = System.Text.RegularExpressions.Regex.IsMatch(said, @"(LIGHTON|\bON\b)");
        return (off, on) switch
        {
            (true, false) => Outcome.Ok("the first line's LIGHTOFF was executed, the second line ignored"),
            (_, true) => Outcome.Failed("the client speaks of ON for a page whose first line is COMMAND=LIGHTOFF", "LIGHTOFF executed", "ON mentioned in its output or log"),
            _ => Outcome.Unsupported("neither the output nor the log says which command was executed"),
        };
    }

    private static Outcome CommandUnparsable(ClientTarget target)
    {
        byte[] page = Encoding.ASCII.GetBytes("COMMAND=DANCE\nCOMMAND=LIGHTON\n");
        ClientRun run = Run(target, new GatewayScript(), page);
        if (NotExact(run, page, "a page with no command") is { } failed)
        {
            return failed;
        }

        string said = run.Said.ToUpperInvariant();
        if (System.Text.RegularExpressions.Regex.IsMatch(said, @"LED IS ON|LIGHTON:|TURN(ED|ING)? ON"))
        {
            return Outcome.Failed("a page whose first line is no command switched the LED", "an error logged", "ON");
        }

        bool logged = said.Contains("ERROR", StringComparison.Ordinal) || said.Contains("PARS", StringComparison.Ordinal) || said.Contains("UNKNOWN", StringComparison.Ordinal) || said.Contains("INVALID", StringComparison.Ordinal);
        return (run.Process.ExitCode != 0, logged) switch
        {
            (true, true) => Outcome.Ok($"the error is logged and the exit code is {run.Process.ExitCode}"),
            (false, true) => Outcome.Lenient("the error is logged, but the exit code is 0"),
            (true, false) => Outcome.Lenient($"exit code {run.Process.ExitCode}, but no error is said or logged"),
            _ => Outcome.Failed("no error said, logged or in the exit code", "the parse error logged", "nothing"),
        };
    }

    private static Outcome SynLost(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Lose(Way.ToGateway, DatagramKind.Syn)] }, "the first SYN lost");

    private static Outcome HandshakeAckLost(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Lose(Way.ToGateway, DatagramKind.HandshakeAck)] }, "the first handshake ACK lost");

    private static Outcome SegmentLost(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Lose(Way.ToClient, DatagramKind.Segment, Segment: 1)] }, "the second segment lost");

    private static Outcome AckLost(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Lose(Way.ToGateway, DatagramKind.AckOfSegment, Segment: 0)] }, "the acknowledgment of the first segment lost");

    private static Outcome FinAckLost(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript { Faults = [new Lose(Way.ToGateway, DatagramKind.FinAck)] });
        if (NotExact(run, target.Page, "the ACK|FIN lost") is { } failed)
        {
            return failed;
        }

        if (run.Process.ExitCode != 0 && CommandPage.TryParse(target.Page, out _))
        {
            return Outcome.Failed("the ACK|FIN lost: the page arrived, but the client failed", "exit code 0", $"exit code {run.Process.ExitCode}");
        }

        // The gateway ignored the first ACK|FIN and sends its FIN again. A client still there answers it;
        // one already gone leaves the gateway to give up its close after its retries, which costs no data.
        Exchanged? again = run.Exchanges.Where(e => !e.FromClient && e.Datagram.Header.IsFin).Skip(1).FirstOrDefault();
        bool answered = again is not null && run.Exchanges.SkipWhile(e => e != again).Any(e => e.FromClient && e.Datagram.Header.IsFin);
        return Outcome.Ok(answered
            ? "the ACK|FIN lost: the FIN sent again was answered again, and the file holds the page"
            : "the ACK|FIN lost: the file holds the page; the client had left when the FIN came again (the gateway gives up its close)");
    }

    private static Outcome DuplicateSegments(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Duplicate(Way.ToClient, DatagramKind.Segment)] }, "every segment sent twice");

    private static Outcome DuplicateSynAck(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new Duplicate(Way.ToClient, DatagramKind.SynAck)] }, "the SYN|ACK sent twice");

    private static Outcome ReorderedSegments(ClientTarget target) => Exact(target, new GatewayScript { SendNextFirst = new HashSet<int> { 1 } }, "the third segment before the second");

    private static Outcome Garbage(ClientTarget target)
    {
        var random = new Random(target.Seed);
        return Exact(target, new GatewayScript
        {
            InjectBefore = (_, seq) =>
            [
                [1, 2, 3],
                Datagram.Build(seq + 7000, 0, SegmentFlags.Ack, new byte[100]),
                Datagram.Build(seq, 0, SegmentFlags.Syn | SegmentFlags.Fin),
                Datagram.Build((uint)random.Next(), (uint)random.Next(), SegmentFlags.Ack | SegmentFlags.Syn | SegmentFlags.Fin),
            ],
        }, "runts, far-ahead segments and odd flags before each segment");
    }

    private static Outcome Oversize(ClientTarget target) => Exact(target, new GatewayScript
    {
        InjectBefore = (segment, seq) => segment == 1 ? [Datagram.Build(seq, 0, SegmentFlags.Ack, new byte[600])] : [],
    }, "a 600-byte segment at the expected seq before the real one");

    private static Outcome Stranger(ClientTarget target) => Exact(target, new GatewayScript { StrangerBefore = 1 }, "a forged segment from another port before the second");

    private static Outcome ReservedBitsIgnored(ClientTarget target) => Exact(target, new GatewayScript { Faults = [new SetReservedBits(Way.ToClient, 0x80000000)] }, "every header with a reserved bit set");

    private static Outcome FinWithoutAck(ClientTarget target) => Exact(target, new GatewayScript { Fin = FinStyle.Bare }, "the last segment with FIN and no ACK, as the sample draws it");

    private static Outcome SeparateFin(ClientTarget target) => Exact(target, new GatewayScript { Fin = FinStyle.SeparateWithAck }, "the data, then an empty ACK|FIN");

    private static Outcome ConstantAckField(ClientTarget target) => Exact(target, new GatewayScript { ConstantAckField = true }, "the gateway's ack field constant");

    private static Outcome MultipleOf512(ClientTarget target)
    {
        byte[] page = [.. "COMMAND=LIGHTON\n"u8, .. Enumerable.Repeat((byte)'x', 1024 - 16)];
        return Exact(target, new GatewayScript(), "a 1,024-byte page (a full last segment with FIN)", page);
    }

    private static Outcome EmptyPage(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript(), []);
        if (run.TimedOut)
        {
            return Outcome.Failed("an empty page (one ACK|FIN) and the client did not exit", "an exit", "still running");
        }

        bool answered = run.FromClient.Any(d => d.Header.IsFin);
        return (answered, run.Output) switch
        {
            (_, { Length: > 0 }) => Outcome.Failed("an empty page, but the file is not empty", "0 bytes", $"{run.Output.Length} bytes"),
            (false, _) => Outcome.Failed("an empty page: the FIN was never answered, the transfer never completed", "ACK|FIN", "no ACK|FIN"),
            (true, null) => Outcome.Lenient($"an empty page: answered, but no file written (exit code {run.Process.ExitCode})"),
            _ => Outcome.Ok($"an empty file and an ACK|FIN (exit code {run.Process.ExitCode})"),
        };
    }

    private static Outcome Wraparound(ClientTarget target) => Exact(target, new GatewayScript { Isn = uint.MaxValue - 700 }, "a gateway ISN 700 below 2^32");

    private static Outcome SilentGateway(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript { Silent = true });
        if (run.TimedOut)
        {
            return Outcome.Failed("a gateway that never answers, and the client did not give up", "a non-zero exit", $"still running after {target.RunTimeout.TotalSeconds:0} s");
        }

        return run.Process.ExitCode != 0 && run.Output is null
            ? Outcome.Ok($"gave up with exit code {run.Process.ExitCode} and no file")
            : Outcome.Failed("a gateway that never answers, and the client succeeded or wrote a file", "a non-zero exit and no file", $"exit code {run.Process.ExitCode}, {(run.Output is null ? "no file" : "a file")}");
    }

    private static Outcome StalledGateway(ClientTarget target)
    {
        if (target.Page.Length <= Segments.MaxPayload)
        {
            return Outcome.Unsupported("needs a page of more than 512 bytes");
        }

        ClientRun run = Run(target, new GatewayScript { StallAfter = 1 });
        if (run.TimedOut)
        {
            return Outcome.Failed("a gateway that falls silent mid-transfer, and the client did not give up", "a non-zero exit", "still running");
        }

        if (run.Output is not null)
        {
            return Outcome.Failed("a transfer cut short left a file: a partial page", "no file", $"{run.Output.Length} bytes");
        }

        return run.Process.ExitCode != 0
            ? Outcome.Ok($"gave up with exit code {run.Process.ExitCode} and no file")
            : Outcome.Failed("a transfer cut short, and the client exited 0", "a non-zero exit", "0");
    }

    private static Outcome LogFormat(ClientTarget target)
    {
        ClientRun run = Run(target, new GatewayScript());
        string[] packets = [.. run.LogLines.Where(line => line.StartsWith("RECV", StringComparison.Ordinal) || line.StartsWith("SEND", StringComparison.Ordinal))];
        if (packets.Length == 0)
        {
            return Outcome.Failed("no RECV or SEND line in the log", "a line per datagram", run.LogLines.Length == 0 ? "no log" : run.LogLines[0]);
        }

        string? malformed = packets.FirstOrDefault(line => !GatewayCases.PacketLine().IsMatch(line));
        if (malformed is not null)
        {
            return Outcome.Failed("a packet line not in the spec's format", "RECV|SEND <seq> <ack> [ACK] [SYN] [FIN]", malformed);
        }

        int received = run.Exchanges.Count(e => !e.FromClient && !e.Lost);
        int sent = run.Exchanges.Count(e => e.FromClient);
        int recvLines = packets.Count(line => line.StartsWith("RECV", StringComparison.Ordinal));
        int sendLines = packets.Length - recvLines;
        if (recvLines < received)
        {
            // "For each packet received": a line short is a packet not logged. SEND lines are the
            // client's own choice, so their count can only make the verdict lenient.
            return Outcome.Failed($"{received - recvLines} of the {received} datagrams received are not logged", $"{received} RECV lines", $"{recvLines} RECV lines");
        }

        return recvLines == received && sendLines == sent
            ? Outcome.Ok($"{packets.Length} packet lines in the spec's format, one per datagram each way")
            : Outcome.Lenient($"the log has {recvLines} RECV and {sendLines} SEND lines for {received} datagrams received and {sent} sent");
    }
}
