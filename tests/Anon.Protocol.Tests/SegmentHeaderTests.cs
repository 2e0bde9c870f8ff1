using CsCheck;

namespace Anon.Protocol.Tests;

public class SegmentHeaderTests
{
    [Fact]
    public void Writes_the_fields_big_endian_with_flags_in_the_low_bits()
    {
        Span<byte> bytes = stackalloc byte[SegmentHeader.Size];
        new SegmentHeader(new SequenceNumber(100), new SequenceNumber(12346), SegmentFlags.Ack | SegmentFlags.Syn).WriteTo(bytes);

        Assert.Equal(new byte[] { 0, 0, 0, 100, 0, 0, 0x30, 0x3A, 0, 0, 0, 0b110 }, bytes.ToArray());
    }

    [Fact]
    public void Reads_the_spec_sample_fin_segment()
    {
        byte[] datagram = [0, 0, 0x06, 0x65, 0, 0, 0x30, 0x3E, 0, 0, 0, 0b101, (byte)'x'];

        Assert.True(SegmentHeader.TryRead(datagram, out SegmentHeader header));
        Assert.Equal(1637u, header.Sequence.Value);
        Assert.Equal(12350u, header.Acknowledgment.Value);
        Assert.True(header.IsAck);
        Assert.True(header.IsFin);
        Assert.False(header.IsSyn);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(11)]
    public void A_datagram_shorter_than_the_header_is_not_read(int length)
    {
        Assert.False(SegmentHeader.TryRead(new byte[length], out _));
    }

    [Fact]
    public void Reserved_bits_are_kept_on_read_but_never_written()
    {
        byte[] datagram = [0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0, 0x10, 0b100];
        Assert.True(SegmentHeader.TryRead(datagram, out SegmentHeader header));
        Assert.True(header.HasReservedBits);
        Assert.Equal(SegmentFlags.Ack, header.ControlFlags);

        Span<byte> written = stackalloc byte[SegmentHeader.Size];
        header.WriteTo(written);
        Assert.Equal(new byte[] { 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0b100 }, written.ToArray());
    }

    [Fact]
    public void Every_header_survives_a_round_trip()
    {
        Gen.Select(Gen.UInt, Gen.UInt, Gen.UInt[0, 7]).Sample((sequence, acknowledgment, flags) =>
        {
            var header = new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), (SegmentFlags)flags);
            Span<byte> bytes = stackalloc byte[SegmentHeader.Size];
            header.WriteTo(bytes);
            return SegmentHeader.TryRead(bytes, out SegmentHeader read) && read == header;
        });
    }

    [Fact]
    public void Any_datagram_of_twelve_bytes_or_more_reads_and_rewrites_to_the_same_defined_bits()
    {
        Gen.Byte.Array[12, 600].Sample(datagram =>
        {
            Assert.True(SegmentHeader.TryRead(datagram, out SegmentHeader header));
            Span<byte> written = stackalloc byte[SegmentHeader.Size];
            header.WriteTo(written);
            Assert.True(written[..8].SequenceEqual(datagram.AsSpan(0, 8)));
            Assert.Equal(new byte[] { 0, 0, 0, (byte)(datagram[11] & 0b111) }, written[8..].ToArray());
        });
    }
}
