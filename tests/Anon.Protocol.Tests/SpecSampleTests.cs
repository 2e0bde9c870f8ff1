namespace Anon.Protocol.Tests;

/// <summary>The spec's sample exchange, as PROTOCOL.md corrects it, produced by the two cores talking directly.</summary>
public class SpecSampleTests
{
    /// <summary>PROTOCOL.md "Data, stop-and-wait": ISNs 12345 and 100, 1,541 bytes of content, the client's log.</summary>
    private static readonly string[] ClientLog = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "spec-sample-client.log"));

    [Fact]
    public void Isns_12345_and_100_with_1541_bytes_give_the_exchange_of_the_protocol_page()
    {
        byte[] content = Packets.Content(1541);
        var gateway = new GatewayEndpoint(content, new FixedSynCookie(new SequenceNumber(100)));
        var client = new ClientConnection(new SequenceNumber(12345), TimeSpan.Zero);
        var log = new List<string>();
        byte[] toGateway = new byte[Segments.MaxDatagram];
        byte[] toClient = new byte[Segments.MaxDatagram];

        Assert.True(client.PollTransmit(toGateway, out int length));
        while (length > 0)
        {
            log.Add(PacketLogLine.Format(PacketDirection.Send, Packets.Header(toGateway)));
            int answer = gateway.HandleDatagram(Packets.Address(40000), toGateway.AsSpan(0, length), TimeSpan.Zero, toClient).AnswerLength;
            if (answer == 0)
            {
                break;
            }

            log.Add(PacketLogLine.Format(PacketDirection.Receive, Packets.Header(toClient)));
            length = client.HandleDatagram(toClient.AsSpan(0, answer), TimeSpan.Zero, toGateway).AnswerLength;
        }

        Assert.Equal(ClientLog, log);
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);
    }

    [Fact]
    public void A_gateway_that_sends_the_samples_own_last_packet_fin_without_ack_gets_the_same_exchange()
    {
        // The spec's drawing ends "seq=1638, ack=12350, FIN, payload=5bytes": no ACK flag. With its
        // 614 corrected to 613, a gateway that sends exactly that is served line for line.
        byte[] content = Packets.Content(1541);
        var client = new ClientConnection(new SequenceNumber(12345), TimeSpan.Zero);
        byte[] buffer = new byte[Segments.MaxDatagram];
        var log = new List<string>();
        Assert.True(client.PollTransmit(buffer, out int length));
        log.Add(PacketLogLine.Format(PacketDirection.Send, Packets.Header(buffer.AsSpan(0, length))));

        byte[][] fromGateway =
        [
            Packets.Make(100, 12346, SegmentFlags.Syn | SegmentFlags.Ack),
            Packets.Make(101, 12347, SegmentFlags.Ack, content.AsSpan(0, 512)),
            Packets.Make(613, 12348, SegmentFlags.Ack, content.AsSpan(512, 512)),
            Packets.Make(1125, 12349, SegmentFlags.Ack, content.AsSpan(1024, 512)),
            Packets.Make(1637, 12350, SegmentFlags.Fin, content.AsSpan(1536)),
        ];
        foreach (byte[] datagram in fromGateway)
        {
            log.Add(PacketLogLine.Format(PacketDirection.Receive, Packets.Header(datagram)));
            length = client.HandleDatagram(datagram, TimeSpan.Zero, buffer).AnswerLength;
            Assert.True(length > 0, "no answer to " + log[^1]);
            log.Add(PacketLogLine.Format(PacketDirection.Send, Packets.Header(buffer.AsSpan(0, length))));
        }

        string[] expected = [.. ClientLog.Select(line => line == "RECV 1637 12350 ACK FIN" ? "RECV 1637 12350 FIN" : line)];
        Assert.Contains("RECV 1637 12350 FIN", expected);
        Assert.Equal(expected, log);
        Assert.Equal(content, client.Content.ToArray());
        Assert.True(client.IsComplete);
    }
}
