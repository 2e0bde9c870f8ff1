using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>A datagram seen by the suite: its header, payload and when it came.</summary>
public sealed record Datagram(SegmentHeader Header, byte[] Payload, byte[] Raw, TimeSpan At)
{
    public uint Seq => Header.Sequence.Value;

    public uint Ack => Header.Acknowledgment.Value;

    public SegmentFlags Flags => Header.ControlFlags;

    /// <summary>The sequence number just past the payload.</summary>
    public uint End => Seq + (uint)Payload.Length;

    public bool Is(SegmentFlags flags) => Flags == flags;

    /// <summary>Parses a datagram; null when it is shorter than the header.</summary>
    public static Datagram? Parse(ReadOnlySpan<byte> raw, TimeSpan at) =>
        SegmentHeader.TryRead(raw, out SegmentHeader header) ? new Datagram(header, raw[SegmentHeader.Size..].ToArray(), raw.ToArray(), at) : null;

    /// <summary>Builds a datagram's bytes.</summary>
    public static byte[] Build(uint seq, uint ack, SegmentFlags flags, ReadOnlySpan<byte> payload = default, uint reservedBits = 0)
    {
        byte[] raw = new byte[SegmentHeader.Size + payload.Length];
        new SegmentHeader(new SequenceNumber(seq), new SequenceNumber(ack), flags).WriteTo(raw);
        if (reservedBits != 0)
        {
            uint word = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(8)) | (reservedBits & ~(uint)SegmentHeader.DefinedFlags);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(8), word);
        }

        payload.CopyTo(raw.AsSpan(SegmentHeader.Size));
        return raw;
    }

    /// <summary>"seq=101 ack=12347 ACK len=512", with the reserved bits when set.</summary>
    public override string ToString() => Describe(Header, Payload.Length);

    public static string Describe(SegmentHeader header, int payloadLength)
    {
        string flags = header.ControlFlags == SegmentFlags.None ? "no flags" : string.Join('|',
            new[] { (SegmentFlags.Ack, "ACK"), (SegmentFlags.Syn, "SYN"), (SegmentFlags.Fin, "FIN") }
                .Where(flag => (header.ControlFlags & flag.Item1) != 0).Select(flag => flag.Item2));
        string reserved = header.HasReservedBits ? $" reserved=0x{(uint)header.Flags & ~(uint)SegmentHeader.DefinedFlags:x8}" : "";
        return $"seq={header.Sequence.Value} ack={header.Acknowledgment.Value} {flags} len={payloadLength}{reserved}";
    }
}
