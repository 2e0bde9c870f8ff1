using System.Buffers.Binary;
using Anon.Protocol;

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
/// One fault between a client and a gateway, as a value: a case or a broken peer is a short list of
/// them (<see cref="FaultPlan"/>), applied to each datagram as it is sent, by the suite's gateway,
/// the suite's client and the lossy relay alike. A fault loses or copies a datagram
/// (<see cref="Decide"/>), or changes its bytes on the way (<see cref="Change"/>): a defect that
/// shows only in the bytes a peer sends is such a change.
/// </summary>
public abstract record Fault
{
    /// <summary>What this fault does to the datagram; null when it does not concern it.</summary>
    public virtual Delivery? Decide(DatagramClass datagram) => null;

    /// <summary>The datagram's bytes as this fault leaves them: <paramref name="bytes"/> themselves when it does not change them.</summary>
    public virtual byte[] Change(DatagramClass datagram, byte[] bytes) => bytes;

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

/// <summary>Reserved bits set in the flags word of every datagram that way.</summary>
public sealed record SetReservedBits(Way Way, uint Bits) : Fault
{
    public override byte[] Change(DatagramClass datagram, byte[] bytes)
    {
        if (datagram.Way != Way || bytes.Length < SegmentHeader.Size)
        {
            return bytes;
        }

        byte[] changed = [.. bytes];
        uint word = BinaryPrimitives.ReadUInt32BigEndian(changed.AsSpan(8)) | (Bits & ~(uint)SegmentHeader.DefinedFlags);
        BinaryPrimitives.WriteUInt32BigEndian(changed.AsSpan(8), word);
        return changed;
    }
}

/// <summary>The ack field of each datagram of that kind, as <paramref name="NewAck"/> makes it from the one sent.</summary>
public sealed record ChangeAckField(Way Way, DatagramKind Kind, Func<uint, uint> NewAck) : Fault
{
    public override byte[] Change(DatagramClass datagram, byte[] bytes)
    {
        if (!Matches(datagram, Way, Kind, null) || bytes.Length < SegmentHeader.Size)
        {
            return bytes;
        }

        byte[] changed = [.. bytes];
        BinaryPrimitives.WriteUInt32BigEndian(changed.AsSpan(4), NewAck(BinaryPrimitives.ReadUInt32BigEndian(changed.AsSpan(4))));
        return changed;
    }
}

/// <summary>One byte of a segment's payload with bits flipped, in every copy: content that arrives wrong.</summary>
public sealed record FlipPayloadByte(Way Way, int Segment, int Offset, byte Bits) : Fault
{
    public override byte[] Change(DatagramClass datagram, byte[] bytes)
    {
        if (!Matches(datagram, Way, DatagramKind.Segment, Segment) || bytes.Length <= SegmentHeader.Size + Offset)
        {
            return bytes;
        }

        byte[] changed = [.. bytes];
        changed[SegmentHeader.Size + Offset] ^= Bits;
        return changed;
    }
}

/// <summary><paramref name="Bytes"/> zero bytes added to the payload of each datagram of that kind.</summary>
public sealed record PadPayload(Way Way, DatagramKind Kind, int Bytes) : Fault
{
    public override byte[] Change(DatagramClass datagram, byte[] bytes) =>
        Matches(datagram, Way, Kind, null) ? [.. bytes, .. new byte[Bytes]] : bytes;
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

    /// <summary>The datagram's bytes once every fault has changed them, in the plan's order.</summary>
    public byte[] Change(DatagramClass datagram, byte[] bytes)
    {
        foreach (Fault fault in Faults)
        {
            bytes = fault.Change(datagram, bytes);
        }

        return bytes;
    }

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
