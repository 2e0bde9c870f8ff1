namespace Anon.Lab.Faults;

/// <summary>What the network does with one datagram: how many copies arrive now, and whether one more arrives late.</summary>
/// <param name="Copies">0: lost; 1: passed; 2 or more: duplicated.</param>
/// <param name="CopyLate">A copy held back until the next datagram the same way has passed (a stale copy, reordered).</param>
public readonly record struct Delivery(int Copies, bool CopyLate = false)
{
    public static Delivery Passed => new(1);

    public static Delivery Lost => new(0);
}

/// <summary>
/// One fault of the network between a client and a gateway, as a value: a case or a broken peer is
/// a short list of them (<see cref="FaultPlan"/>), applied to each datagram as it is sent, by the
/// suite's gateway, the suite's client and the lossy relay alike.
/// </summary>
public abstract record Fault
{
    /// <summary>What this fault does to the datagram; null when it does not concern it.</summary>
    public abstract Delivery? Decide(DatagramClass datagram);

    /// <summary>Whether <paramref name="datagram"/> is of <paramref name="way"/>, <paramref name="kind"/> and, when given, <paramref name="segment"/>.</summary>
    protected static bool Matches(DatagramClass datagram, Way way, DatagramKind kind, int? segment) =>
        datagram.Way == way && datagram.Kind == kind && (segment is null || datagram.Segment == segment);
}

/// <summary>Loses the first <paramref name="Copies"/> copies of a datagram: the SYN, the ACK of segment 1, segment 3...</summary>
/// <param name="Segment">The segment meant (0 = the first); every segment when null.</param>
public sealed record Lose(Way Way, DatagramKind Kind, int? Segment = null, int Copies = 1) : Fault
{
    public override Delivery? Decide(DatagramClass datagram) =>
        Matches(datagram, Way, Kind, Segment) && datagram.Copy <= Copies ? Delivery.Lost : null;
}

/// <summary>Every datagram of that kind arrives <paramref name="Copies"/> times.</summary>
public sealed record Duplicate(Way Way, DatagramKind Kind, int? Segment = null, int Copies = 2) : Fault
{
    public override Delivery? Decide(DatagramClass datagram) =>
        Matches(datagram, Way, Kind, Segment) ? new Delivery(Copies) : null;
}

/// <summary>Every datagram of that kind arrives, and again after the next one the same way: a stale copy, reordered.</summary>
public sealed record DuplicateLate(Way Way, DatagramKind Kind) : Fault
{
    public override Delivery? Decide(DatagramClass datagram) =>
        Matches(datagram, Way, Kind, null) ? new Delivery(1, CopyLate: true) : null;
}

/// <summary>Each datagram, either way, lost with <paramref name="Probability"/>: a seeded draw, so that a run repeats.</summary>
public sealed record RandomLoss(double Probability, int Seed) : Fault
{
    private readonly Random _random = new(Seed);
    private readonly Lock _lock = new();

    public override Delivery? Decide(DatagramClass datagram)
    {
        lock (_lock)
        {
            return _random.NextDouble() < Probability ? Delivery.Lost : null;
        }
    }
}

/// <summary>A list of faults applied together: the first that does something to a datagram decides.</summary>
public sealed class FaultPlan(IReadOnlyList<Fault> faults)
{
    public static FaultPlan None { get; } = new([]);

    public IReadOnlyList<Fault> Faults { get; } = faults;

    public Delivery Decide(DatagramClass datagram)
    {
        foreach (Fault fault in Faults)
        {
            if (fault.Decide(datagram) is { } delivery)
            {
                return delivery;
            }
        }

        return Delivery.Passed;
    }
}
