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
            int answer = gateway.HandleDatagram(Packets.Address(40000), toGateway.AsSpan(0, length), TimeSpan.Zero, toClient);
            if (answer == 0)
            {
                break;
            }

            log.Add(PacketLogLine.Format(PacketDirection.Receive, Packets.Header(toClient)));
            length = client.HandleDatagram(toClient.AsSpan(0, answer), TimeSpan.Zero, toGateway);
        }

        Assert.Equal(ClientLog, log);
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);
    }
}
