namespace Anon.Protocol.Tests;

public class PacketLogLineTests
{
    [Theory]
    [InlineData(PacketDirection.Send, 12345u, 0u, SegmentFlags.Syn, "SEND 12345 0 SYN")]
    [InlineData(PacketDirection.Receive, 100u, 12346u, SegmentFlags.Syn | SegmentFlags.Ack, "RECV 100 12346 ACK SYN")]
    [InlineData(PacketDirection.Send, 12350u, 1642u, SegmentFlags.Ack | SegmentFlags.Fin, "SEND 12350 1642 ACK FIN")]
    [InlineData(PacketDirection.Receive, 1u, 2u, SegmentFlags.None, "RECV 1 2")]
    [InlineData(PacketDirection.Receive, uint.MaxValue, uint.MaxValue, SegmentFlags.Ack | SegmentFlags.Syn | SegmentFlags.Fin, "RECV 4294967295 4294967295 ACK SYN FIN")]
    public void Formats_the_spec_line(PacketDirection direction, uint sequence, uint acknowledgment, SegmentFlags flags, string expected)
    {
        var header = new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags);

        Assert.Equal(expected, PacketLogLine.Format(direction, header));
    }

    [Fact]
    public void Reserved_bits_do_not_appear_in_the_line()
    {
        var header = new SegmentHeader(new SequenceNumber(7), new SequenceNumber(8), SegmentFlags.Ack | (SegmentFlags)0x100);

        Assert.Equal("RECV 7 8 ACK", PacketLogLine.Format(PacketDirection.Receive, header));
    }
}
