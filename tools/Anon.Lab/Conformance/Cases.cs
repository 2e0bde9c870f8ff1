namespace Anon.Lab.Conformance;

/// <summary>A verdict with what was seen, as a case returns it.</summary>
public sealed record Outcome(Verdict Verdict, string Detail, string? Expected = null, string? Received = null)
{
    public static Outcome Ok(string detail) => new(Verdict.Ok, detail);

    public static Outcome Lenient(string detail) => new(Verdict.Lenient, detail);

    public static Outcome Failed(string detail, string? expected = null, string? received = null) => new(Verdict.Failed, detail, expected, received);

    public static Outcome Unsupported(string detail) => new(Verdict.Unsupported, detail);
}

/// <summary>A named case: the spec's sentence it checks, and how it runs against a target.</summary>
public sealed record ConformanceCase<TTarget>(string Name, string Spec, Func<TTarget, Outcome> Run)
{
    /// <summary>Runs the case; an exception in it is a failure of the case, reported, never a crash of the suite.</summary>
    public CaseResult Execute(TTarget target)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Outcome outcome;
        try
        {
            outcome = Run(target);
        }
#pragma warning disable CA1031 // Whatever a case throws is its verdict, not the suite's end.
        catch (Exception e)
#pragma warning restore CA1031
        {
            outcome = Outcome.Failed($"the case could not run to its end: {e.GetType().Name}: {e.Message}");
        }

        return new CaseResult(Name, Spec, outcome.Verdict, outcome.Detail, outcome.Expected, outcome.Received) { Duration = clock.Elapsed };
    }
}

/// <summary>The spec's sentences the cases cite, as the assignment words them (its typing slips kept).</summary>
internal static class Spec
{
    /// <summary>The spec by name, for a reader who does not have its text.</summary>
    public const string Source = "the assignment \"Program 3: Interact with the cloud through a gateway\" (program3.txt)";

    public const string Header = "The payload of each UDP packet ... MUST start with the following 12-byte header. All fields are in network order";
    public const string NotUsed = "Not Used (29 bits): Must be zero.";
    public const string Isn = "If SYN is present the sequence number is the initial sequence number (randomly choosen).";
    public const string Step1 = "Handshake Step 1: ... Sequence Number set to 12345 (or chosen randomly), SYN flag set to 1, ACK flag set to 0, FIN flag set to 0.";
    public const string Step2 = "Handshake Step 2: ... ACK number set to 12346 (Clients seq number + 1) SYN flag set to 1, ACK flag set to 1, FIN flag set to 0.";
    public const string Step3 = "Handshake Step 3: ... Sequence Number set to 12346 (ACK from Gateway), ACK number set to 101 (Gateway seq number + 1) ... ACK flag set to 1";
    public const string Begin = "Now both anonclient and anonGateway knows each others' sequence numbers and communication can begin.";
    public const string Data = "Gateway sends 512 bytes of data in an UDP packet as a payload. It also increases the sequence number ... and sets the ACK flag.";
    public const string SequenceNumber = "Sequence Number (32 bits): The sequence number of the first data octet in this packet";
    public const string ClientAck = "The Client acknowledges the number of bytes it received by setting the ACK flag, and adding the number of bytes received";
    public const string NextSegment = "Upon receiving this ACK, the Gateway creates another packet, sets the ACK flag, updates the sequence number, and sends another 512 bytes.";
    public const string Fin = "The last packet from the Gateway has the FIN bit set.";
    public const string FinAck = "The client will send a packet with both FIN and ACK bit set. This completes the data transfer.";
    public const string Write = "Once the interaction is complete, write the retrieved content to a file (on the client side).";
    public const string Execute = "Client then parses the first line of the content and executes the command in the file. If the command can not be parsed, it logs the error.";
    public const string Robust = "Learn to create robust network protocols; Learn about reliable communication";
    public const string Log = "For each packet received, log both at Gateway and receiver in the following format: \"RECV\" <Sequence Number> <Acknowledgement Number> [\"ACK\"] [\"SYN\"] [\"FIN\"]";
    public const string Indefinitely = "The Gateway runs indefinitely - it does not exit.";
    public const string Sample = "Sample interaction: seq=1638, ack=12350, FIN, payload=5bytes ... seq=12350, ack=1643, FIN, ACK";
    public const string Once = "You only perform this handshake once.";
}
