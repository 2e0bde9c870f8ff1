namespace Anon.Protocol.Tests.Simulation;

/// <summary>Each kind of packet lost once, on an otherwise perfect network: the transfer still completes byte for byte.</summary>
public class TargetedLossTests
{
    private const int Gateway = 0;
    private const SegmentFlags Ack = SegmentFlags.Ack;

    public static TheoryData<string> PacketKinds => ["SYN", "SYN|ACK", "handshake ACK", "data segment", "data ACK", "FIN", "FIN|ACK"];

    [Theory]
    [MemberData(nameof(PacketKinds))]
    public void A_lost_packet_of_each_kind_is_survived(string kind)
    {
        byte[] content = Packets.Content(1541);
        var options = new ClientOptions { Linger = TimeSpan.FromSeconds(2) };
        var simulation = new TransferSimulation(seed: 1, NetworkConditions.Perfect, content, clientOptions: options);
        int dataSegments = 0;
        int clientAcks = 0;
        simulation.Network.DropOnce(kind switch
        {
            "SYN" => (from, h, _) => from != Gateway && h.ControlFlags == SegmentFlags.Syn,
            "SYN|ACK" => (from, h, _) => from == Gateway && h.ControlFlags == (SegmentFlags.Syn | Ack),
            "handshake ACK" => (from, h, _) => from != Gateway && h.ControlFlags == Ack,
            "data segment" => (from, h, _) => from == Gateway && h.ControlFlags == Ack && ++dataSegments == 2,
            "data ACK" => (from, h, _) => from != Gateway && h.ControlFlags == Ack && ++clientAcks == 2,
            "FIN" => (from, h, _) => from == Gateway && h.IsFin,
            _ => (from, h, _) => from != Gateway && h.IsFin,
        });

        SimulationResult result = simulation.Run();

        ClientConnection client = result.Clients[0];
        Assert.Empty(result.Violations);
        Assert.True(client.IsComplete, client.Failure?.ToString());
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(1, result.DatagramsLost);
        Assert.Equal(1, result.Gateway.Statistics.ConnectionsCompleted);
        Assert.Equal(0, result.Gateway.ConnectionCount);
        long retransmissions = client.Statistics.Retransmissions + result.Gateway.Statistics.Retransmissions;
        Assert.Equal(1, retransmissions);
    }

    [Fact]
    public void Isns_next_to_two_to_the_32_wrap_through_a_whole_transfer()
    {
        byte[] content = Packets.Content(13112);
        var gateway = new GatewayEndpoint(content, new FixedSynCookie(new SequenceNumber(uint.MaxValue - 5000)));
        var client = new ClientConnection(new SequenceNumber(uint.MaxValue - 10), TimeSpan.Zero);
        byte[] toGateway = new byte[Segments.MaxDatagram];
        byte[] toClient = new byte[Segments.MaxDatagram];

        Assert.True(client.PollTransmit(toGateway, out int length));
        int exchanges = 0;
        while (length > 0 && exchanges++ < 100)
        {
            int answer = gateway.HandleDatagram(Packets.Address(40000), toGateway.AsSpan(0, length), TimeSpan.Zero, toClient).AnswerLength;
            length = answer > 0 ? client.HandleDatagram(toClient.AsSpan(0, answer), TimeSpan.Zero, toGateway).AnswerLength : 0;
        }

        Assert.True(client.IsComplete);
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);
    }
}
