using System.Buffers.Binary;

namespace Anon.Protocol;

/// <summary>
/// The 12-byte header that starts every datagram: sequence number, acknowledgment number and a
/// flags word, all big-endian (spec "Packet Specification"; PROTOCOL.md "Header").
/// </summary>
/// <remarks>
/// <see cref="Flags"/> keeps any reserved bits a peer set, so that receivers can count them; they are
/// otherwise ignored, as RFC 9293 §3.1 says of TCP's reserved bits. <see cref="WriteTo"/> always
/// sends them as zero.
/// </remarks>
public readonly record struct SegmentHeader(SequenceNumber Sequence, SequenceNumber Acknowledgment, SegmentFlags Flags)
{
    /// <summary>Length of the header on the wire.</summary>
    public const int Size = 12;

    /// <summary>The only flag bits this protocol defines.</summary>
    public const SegmentFlags DefinedFlags = SegmentFlags.Ack | SegmentFlags.Syn | SegmentFlags.Fin;

    /// <summary>The defined control bits, without any reserved bits the sender set.</summary>
    public SegmentFlags ControlFlags => Flags & DefinedFlags;

    public bool HasReservedBits => (Flags & ~DefinedFlags) != 0;

    public bool IsAck => (Flags & SegmentFlags.Ack) != 0;

    public bool IsSyn => (Flags & SegmentFlags.Syn) != 0;

    public bool IsFin => (Flags & SegmentFlags.Fin) != 0;

    /// <summary>Reads the header at the start of a datagram; false when it is shorter than 12 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out SegmentHeader header)
    {
        if (datagram.Length < Size)
        {
            header = default;
            return false;
        }

        header = new SegmentHeader(
            new SequenceNumber(BinaryPrimitives.ReadUInt32BigEndian(datagram)),
            new SequenceNumber(BinaryPrimitives.ReadUInt32BigEndian(datagram[4..])),
            (SegmentFlags)BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]));
        return true;
    }

    /// <summary>Writes the header into the first 12 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt32BigEndian(destination, Sequence.Value);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Acknowledgment.Value);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)ControlFlags);
    }

    public override string ToString() => PacketLogLine.Format(PacketDirection.Send, this)[5..];
}
