namespace Anon.Protocol;

/// <summary>The control bits in the low end of the header's third word.</summary>
[Flags]
#pragma warning disable CA1028, CA1711 // The wire word is unsigned, and the spec calls these bits flags.
public enum SegmentFlags : uint
#pragma warning restore CA1028, CA1711
{
    None = 0,

    /// <summary>No more data from the sender.</summary>
    Fin = 1 << 0,

    /// <summary>Synchronise sequence numbers: the sequence number is the sender's ISN.</summary>
    Syn = 1 << 1,

    /// <summary>The acknowledgment number is valid.</summary>
    Ack = 1 << 2,
}
