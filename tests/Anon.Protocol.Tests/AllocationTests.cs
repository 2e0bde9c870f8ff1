using System.Net;

namespace Anon.Protocol.Tests;

/// <summary>
/// The cores allocate per connection, never per datagram: a transfer ten times longer allocates the
/// same number of bytes. Measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> after a
/// warm-up transfer, so JIT and first-use costs are out of the figures.
/// </summary>
public class AllocationTests
{
    private readonly byte[] _request = new byte[SegmentHeader.Size];
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    [Fact]
    public void The_gateway_allocates_nothing_per_datagram()
    {
        GatewayTransfer(Packets.Content(13112), 1);

        long shortTransfer = GatewayTransfer(Packets.Content(13112), 2);
        long longTransfer = GatewayTransfer(Packets.Content(131120), 3);

        Assert.Equal(shortTransfer, longTransfer);
        Assert.True(shortTransfer < 4096, $"a whole connection allocated {shortTransfer} bytes"); // ≤ 4 KiB per connection
    }

    [Fact]
    public void The_client_allocates_nothing_per_datagram()
    {
        ClientTransfer(Packets.Content(13112));

        long shortTransfer = ClientTransfer(Packets.Content(1541));
        long longTransfer = ClientTransfer(Packets.Content(13112));

        Assert.Equal(shortTransfer, longTransfer);
    }

    /// <summary>One whole transfer from a fresh endpoint, the client's side played by hand; returns the bytes allocated.</summary>
    private long GatewayTransfer(byte[] content, int port)
    {
        PeerAddress client = Packets.Address(40000 + port);
        var gateway = new GatewayEndpoint(content, new FixedSynCookie(new SequenceNumber(100)));
        long before = GC.GetAllocatedBytesForCurrentThread();

        Send(gateway, client, 1000, 0, SegmentFlags.Syn);
        int length = Send(gateway, client, 1001, 101, SegmentFlags.Ack);
        uint sequence = 1002;
        while (length > 0)
        {
            SegmentHeader.TryRead(_answer, out SegmentHeader segment);
            uint end = (segment.Sequence + (length - SegmentHeader.Size)).Value;
            length = Send(gateway, client, sequence++, end, segment.IsFin ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);
        return allocated;
    }

    private long ClientTransfer(byte[] content)
    {
        var client = new ClientConnection(new SequenceNumber(1000), TimeSpan.Zero);
        long before = GC.GetAllocatedBytesForCurrentThread();

        client.PollTransmit(_answer, out _);
        new SegmentHeader(new SequenceNumber(100), new SequenceNumber(1001), SegmentFlags.Syn | SegmentFlags.Ack).WriteTo(_answer);
        client.HandleDatagram(_answer.AsSpan(0, SegmentHeader.Size), TimeSpan.Zero, _request);
        for (int offset = 0; offset < content.Length; offset += Segments.MaxPayload)
        {
            int length = Math.Min(Segments.MaxPayload, content.Length - offset);
            SegmentFlags flags = offset + length == content.Length ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack;
            new SegmentHeader(new SequenceNumber(101u + (uint)offset), new SequenceNumber(1002), flags).WriteTo(_answer);
            content.AsSpan(offset, length).CopyTo(_answer.AsSpan(SegmentHeader.Size));
            client.HandleDatagram(_answer.AsSpan(0, SegmentHeader.Size + length), TimeSpan.Zero, _request);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(client.IsComplete);
        return allocated;
    }

    private int Send(GatewayEndpoint gateway, PeerAddress client, uint sequence, uint acknowledgment, SegmentFlags flags)
    {
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(_request);
        return gateway.HandleDatagram(client, _request, TimeSpan.Zero, _answer).AnswerLength;
    }
}
