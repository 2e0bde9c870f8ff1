using System.Net;

namespace Anon.Protocol.Tests;

/// <summary>Builds and reads datagrams for tests.</summary>
internal static class Packets
{
    public const SegmentFlags Ack = SegmentFlags.Ack;
    public const SegmentFlags Syn = SegmentFlags.Syn;
    public const SegmentFlags Fin = SegmentFlags.Fin;

    public static byte[] Make(uint sequence, uint acknowledgment, SegmentFlags flags, ReadOnlySpan<byte> payload = default)
    {
        byte[] datagram = new byte[SegmentHeader.Size + payload.Length];
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(datagram);
        payload.CopyTo(datagram.AsSpan(SegmentHeader.Size));
        return datagram;
    }

    public static SegmentHeader Header(ReadOnlySpan<byte> datagram)
    {
        Assert.True(SegmentHeader.TryRead(datagram, out SegmentHeader header));
        return header;
    }

    /// <summary>The header as the log shows it, without the direction: "101 12347 ACK".</summary>
    public static string Describe(ReadOnlySpan<byte> datagram) =>
        PacketLogLine.Format(PacketDirection.Send, Header(datagram))["SEND ".Length..];

    public static PeerAddress Address(int port) => new PeerAddress(IPAddress.Loopback, port);

    public static byte[] Content(int length)
    {
        byte[] content = new byte[length];
        new Random(length).NextBytes(content);
        return content;
    }
}
