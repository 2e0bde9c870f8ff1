using static Anon.Protocol.Tests.Packets;

namespace Anon.Protocol.Tests;

/// <summary>What <see cref="GatewayEndpoint.HandleDatagram"/> says about each datagram: the loop logs and sends from it alone.</summary>
public class DatagramOutcomeTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(10);
    private static readonly PeerAddress Client = Address(40000);
    private static readonly PeerAddress Stranger = Address(40001);
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    [Fact]
    public void A_syn_from_a_stranger_is_answered_outside_any_connection()
    {
        GatewayEndpoint gateway = Gateway();

        DatagramOutcome syn = gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);

        Assert.Equal((SegmentHeader.Size, false, DropReason.None), (syn.AnswerLength, syn.OfConnection, syn.Dropped));
        Assert.Equal(Header(Make(12345, 0, Syn)), syn.Received);
        Assert.Equal(Header(_answer), syn.Answer);
        Assert.Equal("100 12346 ACK SYN", Describe(_answer.AsSpan(0, syn.AnswerLength)));
    }

    [Fact]
    public void The_handshake_ack_opens_a_connection_and_its_answer_is_the_first_segment()
    {
        GatewayEndpoint gateway = Gateway();
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);

        DatagramOutcome opened = gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        Assert.True(opened.OfConnection);
        Assert.Equal(SegmentHeader.Size + 512, opened.AnswerLength);
        Assert.Equal(Header(_answer), opened.Answer);
        Assert.Equal("101 12347 ACK", Describe(_answer.AsSpan(0, opened.AnswerLength)));
    }

    [Fact]
    public void The_closing_datagram_still_belongs_to_the_connection_it_closed()
    {
        GatewayEndpoint gateway = Gateway(content: 100);
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        DatagramOutcome closed = gateway.HandleDatagram(Client, Make(12347, 201, Ack | Fin), T0, _answer);

        Assert.Equal((0, true, DropReason.None), (closed.AnswerLength, closed.OfConnection, closed.Dropped));
        Assert.Equal(0, gateway.ConnectionCount);
    }

    [Fact]
    public void A_drop_names_its_reason_and_whether_a_connection_saw_it()
    {
        GatewayEndpoint gateway = Gateway();
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        DatagramOutcome runt = gateway.HandleDatagram(Client, new byte[3], T0, _answer);
        DatagramOutcome beyond = gateway.HandleDatagram(Client, Make(12347, 5000, Ack), T0, _answer);
        DatagramOutcome unknown = gateway.HandleDatagram(Stranger, Make(1, 2, Ack), T0, _answer);
        DatagramOutcome payload = gateway.HandleDatagram(Stranger, Make(1, 0, Syn, "hello"u8), T0, _answer);

        Assert.Equal((null, true, DropReason.TooShort), (runt.Received, runt.OfConnection, runt.Dropped));
        Assert.Equal((true, DropReason.AckOutOfRange), (beyond.OfConnection, beyond.Dropped));
        Assert.Equal((false, DropReason.NoConnection), (unknown.OfConnection, unknown.Dropped));
        Assert.Equal((false, DropReason.ClientPayload), (payload.OfConnection, payload.Dropped));
        Assert.All(new[] { runt, beyond, unknown, payload }, outcome => Assert.False(outcome.HasAnswer));
    }

    [Fact]
    public void A_retransmission_says_where_it_goes_and_what_it_carries()
    {
        GatewayEndpoint gateway = Gateway();
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        gateway.HandleTimeout(gateway.PollTimeout()!.Value);

        Assert.True(gateway.PollTransmit(_answer, out Transmit transmit));
        Assert.Equal(Client, transmit.Destination);
        Assert.Equal(SegmentHeader.Size + 512, transmit.Length);
        Assert.Equal(Header(_answer), transmit.Header);
        Assert.False(gateway.PollTransmit(_answer, out _));
    }

    private static GatewayEndpoint Gateway(int content = 1000) => new(Content(content), new FixedSynCookie(new SequenceNumber(100)));

    [Fact]
    public void A_draining_gateway_answers_no_syn_but_finishes_what_is_open_and_the_handshakes_it_answered()
    {
        GatewayEndpoint gateway = Gateway(content: 100);
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);
        gateway.HandleDatagram(Stranger, Make(500, 0, Syn), T0, _answer); // its SYN|ACK went out before the stop

        gateway.StopAccepting();
        DatagramOutcome syn = gateway.HandleDatagram(Address(40002), Make(900, 0, Syn), T0, _answer);
        DatagramOutcome handshake = gateway.HandleDatagram(Stranger, Make(501, 101, Ack), T0, _answer);
        DatagramOutcome last = gateway.HandleDatagram(Client, Make(12347, 201, Ack | Fin), T0, _answer);

        Assert.False(gateway.IsAccepting);
        Assert.Equal((0, DropReason.Draining), (syn.AnswerLength, syn.Dropped));
        Assert.Equal((SegmentHeader.Size + 100, DropReason.None), (handshake.AnswerLength, handshake.Dropped)); // its cookie is ours: no other gateway could take it
        Assert.Equal(DropReason.None, last.Dropped);
        Assert.Equal(1, gateway.ConnectionCount);
        Assert.Equal((1, 1), (gateway.Statistics.ConnectionsCompleted, gateway.Statistics.Drops[DropReason.Draining]));
        Assert.Equal(T0, gateway.LastSynAnsweredAt);
    }
}
