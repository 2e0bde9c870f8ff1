using System.Net;
using static Anon.Protocol.Tests.Packets;

namespace Anon.Protocol.Tests;

/// <summary>
/// Each reading of the spec that another implementation may take (PROTOCOL.md "Readings of the
/// spec"): the accepted ones complete byte-exact; the refused ones are dropped under their reason
/// and reported once per connection.
/// </summary>
public class PeerReadingTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(10);
    private static readonly PeerAddress Client = Address(40000);
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    // The client facing gateways that read the spec their own way.

    [Fact]
    public void A_last_segment_with_fin_and_no_ack_as_the_sample_draws_it_ends_the_transfer()
    {
        ClientConnection client = EstablishedClient();
        byte[] content = Content(517);

        Assert.Equal("12347 613 ACK", ClientAnswer(client, Make(101, 12347, Ack, content.AsSpan(0, 512))));
        Assert.Equal("12348 618 ACK FIN", ClientAnswer(client, Make(613, 12348, Fin, content.AsSpan(512))));

        Assert.True(client.IsComplete);
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(PeerLeniency.FinWithoutAck, client.Statistics.Leniencies);
        Assert.Equal(0, client.Statistics.Dropped);
    }

    [Theory]
    [InlineData(Ack | Fin)]
    [InlineData(Fin)]
    public void Data_followed_by_a_separate_empty_fin_ends_the_transfer(SegmentFlags finFlags)
    {
        ClientConnection client = EstablishedClient();
        byte[] content = Content(1024);

        ClientAnswer(client, Make(101, 12347, Ack, content.AsSpan(0, 512)));
        ClientAnswer(client, Make(613, 12348, Ack, content.AsSpan(512)));
        Assert.Equal("12349 1125 ACK FIN", ClientAnswer(client, Make(1125, 12349, finFlags)));

        Assert.True(client.IsComplete);
        Assert.Equal(content, client.Content.ToArray());
    }

    [Fact]
    public void A_gateway_whose_ack_field_stays_constant_is_served_alike()
    {
        ClientConnection client = EstablishedClient();
        byte[] content = Content(1100);

        ClientAnswer(client, Make(101, 12346, Ack, content.AsSpan(0, 512)));
        ClientAnswer(client, Make(613, 12346, Ack, content.AsSpan(512, 512)));
        Assert.Equal("12349 1201 ACK FIN", ClientAnswer(client, Make(1125, 12346, Ack | Fin, content.AsSpan(1024))));
        Assert.Equal(content, client.Content.ToArray());
    }

    [Fact]
    public void Data_segments_without_any_flag_are_taken_in_order()
    {
        ClientConnection client = EstablishedClient();
        byte[] content = Content(600);

        ClientAnswer(client, Make(101, 0, SegmentFlags.None, content.AsSpan(0, 512)));
        ClientAnswer(client, Make(613, 0, Fin, content.AsSpan(512)));

        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(PeerLeniency.DataWithoutAck | PeerLeniency.FinWithoutAck, client.Statistics.Leniencies);
    }

    [Fact]
    public void A_gateways_last_ack_after_our_fin_ack_is_not_answered()
    {
        // TCP's last ACK: answering it would start an exchange of acknowledgments without end.
        ClientConnection client = EstablishedClient(new ClientOptions { Linger = TimeSpan.FromSeconds(1) });
        ClientAnswer(client, Make(101, 12347, Ack | Fin, "COMMAND=LIGHTON"u8));

        Assert.Equal(0, client.HandleDatagram(Make(116, 12348, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, client.HandleDatagram(Make(117, 12348, Ack), T0, _answer).AnswerLength);
        Assert.Equal(2, client.Statistics.Drops[DropReason.EmptyWithoutFin]);
    }

    [Fact]
    public void Each_refusal_is_yielded_once_per_transfer_and_counted_every_time()
    {
        ClientConnection client = EstablishedClient();

        client.HandleDatagram(Make(2000, 12347, Ack, Content(10)), T0, _answer);
        client.HandleDatagram(Make(3000, 12347, Ack, Content(10)), T0, _answer);
        client.HandleDatagram(Make(101, 12347, Ack, Content(600)), T0, _answer);

        Assert.True(client.PollNewDropReason(out DropReason first));
        Assert.True(client.PollNewDropReason(out DropReason second));
        Assert.False(client.PollNewDropReason(out _));
        Assert.Equal([DropReason.Oversize, DropReason.OutOfOrder], new[] { first, second }.Order());
        Assert.Equal(2, client.Statistics.Drops[DropReason.OutOfOrder]);

        client.HandleDatagram(Make(4000, 12347, Ack, Content(10)), T0, _answer);
        Assert.False(client.PollNewDropReason(out _));
    }

    [Fact]
    public void A_gateway_that_puts_the_clients_seq_in_its_own_seq_field_is_refused()
    {
        // Spec step 5 read literally: "seq_to_send = client_seq_received + 1".
        ClientConnection client = EstablishedClient();

        Assert.Equal(0, client.HandleDatagram(Make(12347, 12347, Ack, Content(512)), T0, _answer).AnswerLength);
        Assert.Equal(1, client.Statistics.Drops[DropReason.OutOfOrder]);
        Assert.Equal(0, client.Content.Length);
    }

    // The gateway facing clients that read the spec their own way.

    [Theory]
    [InlineData("sample: seq + 1 per ACK")]
    [InlineData("seq constant")]
    [InlineData("seq + bytes received")]
    public void Clients_pure_acks_may_number_their_seq_any_way(string reading)
    {
        byte[] content = Content(1541);
        Func<uint, int, uint> nextSequence = reading switch
        {
            "seq constant" => (seq, _) => seq,
            "seq + bytes received" => (seq, bytes) => seq + (uint)bytes,
            _ => (seq, _) => seq + 1,
        };

        (byte[] received, GatewayEndpoint gateway) = Serve(content, (segment, seq) =>
            Make(nextSequence(seq, segment.Length - 12), End(segment), segment.Length - 12 < 512 || IsFin(segment) ? Ack | Fin : Ack));

        Assert.Equal(content, received);
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);
        Assert.Equal(0, gateway.Statistics.DatagramsDropped);
    }

    [Fact]
    public void A_plain_ack_of_the_fin_segment_before_the_fin_ack_completes_without_a_retransmission()
    {
        GatewayEndpoint gateway = ServeUntilLastSegment(Content(600), out SequenceNumber end);

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12348, end.Value, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12349, end.Value, Ack | Fin), T0, _answer).AnswerLength);

        GatewayEvent completed = Events(gateway).Single(e => e.Kind == GatewayEventKind.Completed);
        Assert.Equal(PeerLeniency.PlainAckBeforeFin, completed.Leniencies);
        Assert.Equal(600, completed.BytesAcknowledged);
        Assert.Equal(0, gateway.Statistics.DuplicateAcks);
        Assert.False(gateway.PollTransmit(_answer, out _));
    }

    [Fact]
    public void A_fin_ack_that_counts_the_fin_as_a_sequence_number_completes()
    {
        GatewayEndpoint gateway = ServeUntilLastSegment(Content(600), out SequenceNumber end);

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12348, (end + 1).Value, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12349, (end + 1).Value, Ack | Fin), T0, _answer).AnswerLength);

        GatewayEvent completed = Events(gateway).Single(e => e.Kind == GatewayEventKind.Completed);
        Assert.Equal(PeerLeniency.PlainAckBeforeFin | PeerLeniency.FinTakesSequenceNumber, completed.Leniencies);
    }

    [Fact]
    public void One_past_the_end_of_a_segment_that_is_not_the_last_is_refused_once_per_connection()
    {
        // The sample's "ack=614" after 512 bytes at 101, as a rule: it acknowledges a byte never sent.
        GatewayEndpoint gateway = Gateway(Content(2000));
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12347, 614, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12348, 614, Ack), T0, _answer).AnswerLength);

        Assert.Equal(2, gateway.Statistics.Drops[DropReason.AckOutOfRange]);
        GatewayEvent refused = Events(gateway).Single(e => e.Kind == GatewayEventKind.NewDropReason);
        Assert.Equal(DropReason.AckOutOfRange, refused.DropReason);
        Assert.Equal(TimeSpan.Zero, refused.Elapsed); // refused the moment it opened
        Assert.Equal(1, gateway.ConnectionCount);
    }

    [Fact]
    public void A_bare_fin_closes_only_after_a_plain_ack_of_the_last_segment()
    {
        GatewayEndpoint gateway = ServeUntilLastSegment(Content(600), out SequenceNumber end);

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12348, end.Value, Fin), T0, _answer).AnswerLength);
        Assert.Equal(1, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.FinWithoutAck]);

        gateway.HandleDatagram(Client, Make(12348, end.Value, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(12349, end.Value, Fin), T0, _answer);

        Assert.Equal(0, gateway.ConnectionCount);
        GatewayEvent completed = Events(gateway).Single(e => e.Kind == GatewayEventKind.Completed);
        Assert.Equal(600, completed.BytesAcknowledged);
        Assert.True(completed.Leniencies.HasFlag(PeerLeniency.ClosedWithBareFin));
    }

    [Fact]
    public void With_empty_content_the_repeated_handshake_ack_does_not_count_as_acknowledging_the_fin()
    {
        GatewayEndpoint gateway = Gateway([]);
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);

        gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(12347, 101, Fin), T0, _answer);
        Assert.Equal(1, gateway.ConnectionCount);

        gateway.HandleDatagram(Client, Make(12347, 102, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(12348, 102, Fin), T0, _answer);
        Assert.Equal(0, gateway.ConnectionCount);
    }

    [Fact]
    public void A_handshake_ack_that_keeps_the_isn_as_its_seq_opens_nothing()
    {
        // Spec step 3 says seq = 12346 (ISN + 1); with the ISN itself the cookie does not verify.
        var gateway = new GatewayEndpoint(Content(100), KeyedSynCookies.CreateRandom());
        int length = gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer).AnswerLength;
        uint gatewayIsn = Header(_answer.AsSpan(0, length)).Sequence.Value;

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12345, gatewayIsn + 1, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.NoConnection]);
    }

    private static GatewayEndpoint Gateway(byte[] content) => new(content, new FixedSynCookie(new SequenceNumber(100)));

    private static SequenceNumber End(byte[] segment) => Header(segment).Sequence + (segment.Length - SegmentHeader.Size);

    private static bool IsFin(byte[] segment) => Header(segment).IsFin;

    [Fact]
    public void Leniencies_seen_twice_stay_recorded()
    {
        // Flags are set, never toggled: a second plain ACK of the FIN segment, a second data
        // segment without ACK, leave the record as the first made it.
        GatewayEndpoint gateway = ServeUntilLastSegment(Content(600), out SequenceNumber end);
        gateway.HandleDatagram(Client, Make(12348, end.Value, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(12349, end.Value, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(12350, end.Value, Ack | Fin), T0, _answer);
        Assert.Equal(PeerLeniency.PlainAckBeforeFin, Events(gateway).Single(e => e.Kind == GatewayEventKind.Completed).Leniencies);

        ClientConnection client = EstablishedClient();
        byte[] content = Content(1200);
        ClientAnswer(client, Make(101, 0, SegmentFlags.None, content.AsSpan(0, 512)));
        ClientAnswer(client, Make(613, 0, SegmentFlags.None, content.AsSpan(512, 512)));
        ClientAnswer(client, Make(1125, 0, Fin, content.AsSpan(1024)));
        Assert.Equal(content, client.Content.ToArray());
        Assert.Equal(PeerLeniency.DataWithoutAck | PeerLeniency.FinWithoutAck, client.Statistics.Leniencies);
    }

    private static List<GatewayEvent> Events(GatewayEndpoint gateway)
    {
        var events = new List<GatewayEvent>();
        while (gateway.PollEvent(out GatewayEvent e))
        {
            events.Add(e);
        }

        return events;
    }

    private static SegmentHeader Header(ReadOnlySpan<byte> datagram) => Packets.Header(datagram);

    private static byte[] Make(uint sequence, SequenceNumber acknowledgment, SegmentFlags flags) => Packets.Make(sequence, acknowledgment.Value, flags);

    private static byte[] Make(uint sequence, uint acknowledgment, SegmentFlags flags, ReadOnlySpan<byte> payload = default) =>
        Packets.Make(sequence, acknowledgment, flags, payload);

    /// <summary>A whole transfer: <paramref name="acknowledge"/> answers each segment, given it and the client's last seq.</summary>
    private (byte[] Received, GatewayEndpoint Gateway) Serve(byte[] content, Func<byte[], uint, byte[]> acknowledge)
    {
        GatewayEndpoint gateway = Gateway(content);
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        var received = new List<byte>();
        uint seq = 12346;
        int length = gateway.HandleDatagram(Client, Make(seq, 101, Ack), T0, _answer).AnswerLength;
        for (int turn = 0; length > 0 && turn < 100; turn++)
        {
            byte[] segment = _answer.AsSpan(0, length).ToArray();
            received.AddRange(segment.AsSpan(SegmentHeader.Size).ToArray());
            byte[] ack = acknowledge(segment, seq);
            seq = Header(ack).Sequence.Value;
            length = gateway.HandleDatagram(Client, ack, T0, _answer).AnswerLength;
        }

        return ([.. received], gateway);
    }

    /// <summary>A gateway with a connection whose last segment (ending at <paramref name="end"/>) is in flight.</summary>
    private GatewayEndpoint ServeUntilLastSegment(byte[] content, out SequenceNumber end)
    {
        GatewayEndpoint gateway = Gateway(content);
        gateway.HandleDatagram(Client, Make(12345, 0, Syn), T0, _answer);
        int length = gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer).AnswerLength;
        uint seq = 12347;
        while (!Header(_answer.AsSpan(0, length)).IsFin)
        {
            byte[] segment = _answer.AsSpan(0, length).ToArray();
            length = gateway.HandleDatagram(Client, Make(seq++, End(segment), Ack), T0, _answer).AnswerLength;
        }

        end = End(_answer.AsSpan(0, length).ToArray());
        return gateway;
    }

    private ClientConnection EstablishedClient(ClientOptions? options = null)
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0, options);
        client.PollTransmit(_answer, out _);
        Assert.Equal("12346 101 ACK", ClientAnswer(client, Make(100, 12346, Syn | Ack)));
        return client;
    }

    private string ClientAnswer(ClientConnection client, byte[] datagram)
    {
        int length = client.HandleDatagram(datagram, T0, _answer).AnswerLength;
        Assert.True(length > 0, "expected an answer");
        return Describe(_answer.AsSpan(0, length));
    }
}
