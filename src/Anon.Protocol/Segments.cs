namespace Anon.Protocol;

/// <summary>Sizes fixed by the spec.</summary>
public static class Segments
{
    /// <summary>The gateway sends the content in segments of this many bytes; only the last may be shorter.</summary>
    public const int MaxPayload = 512;

    /// <summary>Largest datagram either side sends: header plus one full segment.</summary>
    public const int MaxDatagram = SegmentHeader.Size + MaxPayload;
}
