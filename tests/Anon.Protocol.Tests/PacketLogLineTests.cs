using CsCheck;

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

    [Fact]
    public void Parsing_a_formatted_line_gives_back_its_direction_and_header()
    {
        Gen.Select(Gen.Bool, Gen.UInt, Gen.UInt, Gen.UInt[0, 7]).Sample((receive, sequence, acknowledgment, flags) =>
        {
            PacketDirection direction = receive ? PacketDirection.Receive : PacketDirection.Send;
            var header = new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), (SegmentFlags)flags);

            Assert.True(PacketLogLine.TryParse(PacketLogLine.Format(direction, header), out PacketDirection parsedDirection, out SegmentHeader parsed));
            Assert.Equal((direction, header), (parsedDirection, parsed));
        });
    }

    [Theory]
    [InlineData("RECV 1 2 SYN", true)]
    [InlineData("SEND 1 2", true)]
    [InlineData("2026-11-25T12:00:00.000Z transfer complete", false)]
    [InlineData("received 1541 bytes", false)]
    public void A_packet_line_is_told_from_the_log_s_other_lines_by_its_first_word(string line, bool expected) =>
        Assert.Equal(expected, PacketLogLine.IsPacketLine(line));

    [Theory]
    [InlineData("")]
    [InlineData("SEND 1")]
    [InlineData("SEND 1 2 SYN ACK")]
    [InlineData("SEND 1 2 ACK ACK")]
    [InlineData("SEND 1 2 RST")]
    [InlineData("SEND -1 2")]
    [InlineData("SEND 4294967296 2")]
    [InlineData("SEND 1  2")]
    [InlineData("send 1 2")]
    [InlineData("2026-11-25T12:00:00.000Z SEND 1 2")]
    public void Any_other_line_is_not_a_packet_line(string line) =>
        Assert.False(PacketLogLine.TryParse(line, out _, out _));
}
