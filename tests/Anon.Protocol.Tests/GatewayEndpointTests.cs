using System.Net;
using static Anon.Protocol.Tests.Packets;

namespace Anon.Protocol.Tests;

public class GatewayEndpointTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(10);
    private static readonly PeerAddress Client = Address(40000);
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    [Fact]
    public void Answers_a_syn_with_syn_ack_and_keeps_no_state()
    {
        GatewayEndpoint gateway = Gateway(Content(1000));

        Assert.Equal("100 12346 ACK SYN", Answer(gateway, Make(12345, 0, Syn)));
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Null(gateway.PollTimeout());
    }

    [Fact]
    public void Copies_a_view_of_each_open_connection_up_to_the_limit_asked()
    {
        GatewayEndpoint gateway = Gateway(Content(1000));
        for (int port = 40000; port < 40003; port++)
        {
            gateway.HandleDatagram(Address(port), Make(12345, 0, Syn), T0, _answer);
            gateway.HandleDatagram(Address(port), Make(12346, 101, Ack), T0, _answer);
        }

        var all = new List<ConnectionView>();
        gateway.CopyConnections(all);
        var two = new List<ConnectionView>();
        gateway.CopyConnections(two, limit: 2);

        Assert.Equal(3, gateway.ConnectionCount);
        Assert.Equal(3, all.Select(view => view.Peer).Distinct().Count());
        Assert.All(all, view => Assert.Equal((0, 1000, T0), (view.BytesAcknowledged, view.ContentLength, view.OpenedAt)));
        Assert.Equal(2, two.Count);
    }

    [Fact]
    public void Sends_no_data_before_a_handshake_ack_that_echoes_its_isn()
    {
        GatewayEndpoint gateway = Gateway(Content(1000));
        Answer(gateway, Make(12345, 0, Syn));

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12346, 999, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12346, 100, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Equal(2, gateway.Statistics.Drops[DropReason.NoConnection]);

        Assert.Equal("101 12347 ACK", Answer(gateway, Make(12346, 101, Ack)));
        Assert.Equal(1, gateway.ConnectionCount);
    }

    [Fact]
    public void With_keyed_cookies_only_the_issued_isn_opens_a_connection()
    {
        var gateway = new GatewayEndpoint(Content(100), KeyedSynCookies.CreateRandom());
        SegmentHeader synAck = Header(_answer.AsSpan(0, gateway.HandleDatagram(Client, Make(7, 0, Syn), T0, _answer).AnswerLength));

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(8, synAck.Sequence.Value + 2, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Address(40001), Make(8, synAck.Sequence.Value + 1, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.ConnectionCount);

        Assert.True(gateway.HandleDatagram(Client, Make(8, synAck.Sequence.Value + 1, Ack), T0, _answer).AnswerLength > 0);
        Assert.Equal(1, gateway.ConnectionCount);
    }

    [Fact]
    public void Sends_the_content_in_512_byte_segments_and_the_last_with_fin()
    {
        byte[] content = Content(1541);
        GatewayEndpoint gateway = Gateway(content);
        Answer(gateway, Make(12345, 0, Syn));

        byte[] first = AnswerBytes(gateway, Make(12346, 101, Ack));
        byte[] second = AnswerBytes(gateway, Make(12347, 613, Ack));
        byte[] third = AnswerBytes(gateway, Make(12348, 1125, Ack));
        byte[] fin = AnswerBytes(gateway, Make(12349, 1637, Ack));

        Assert.Equal(["101 12347 ACK", "613 12348 ACK", "1125 12349 ACK", "1637 12350 ACK FIN"], new[] { first, second, third, fin }.Select(d => Describe(d)));
        Assert.Equal(content, (byte[])[.. first[12..], .. second[12..], .. third[12..], .. fin[12..]]);
        Assert.Equal(5, fin.Length - 12);

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12350, 1642, Ack | Fin), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.True(gateway.PollEvent(out GatewayEvent opened));
        Assert.Equal(GatewayEventKind.Opened, opened.Kind);
        Assert.True(gateway.PollEvent(out GatewayEvent completed));
        Assert.Equal(new GatewayEvent(GatewayEventKind.Completed, Client, TimeSpan.Zero, 1541, 0), completed);
    }

    [Fact]
    public void Content_of_a_multiple_of_512_bytes_ends_with_a_full_segment_carrying_fin()
    {
        GatewayEndpoint gateway = Opened(Content(1024));

        byte[] last = AnswerBytes(gateway, Make(12347, 613, Ack));
        Assert.Equal("613 12348 ACK FIN", Describe(last));
        Assert.Equal(512, last.Length - 12);
    }

    [Fact]
    public void Empty_content_is_one_fin_and_the_handshake_ack_repeated_does_not_complete_it()
    {
        GatewayEndpoint gateway = Gateway([]);
        Answer(gateway, Make(12345, 0, Syn));

        Assert.Equal("101 12347 ACK FIN", Answer(gateway, Make(12346, 101, Ack)));
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer).AnswerLength);
        Assert.Equal(1, gateway.ConnectionCount);

        gateway.HandleDatagram(Client, Make(12347, 101, Ack | Fin), T0, _answer);
        Assert.Equal(0, gateway.ConnectionCount);
    }

    [Fact]
    public void A_duplicate_ack_never_triggers_a_retransmission()
    {
        GatewayEndpoint gateway = Opened(Content(2000));
        Answer(gateway, Make(12347, 613, Ack));

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12347, 613, Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12346, 101, Ack), T0, _answer).AnswerLength);
        Assert.False(gateway.PollTransmit(_answer, out _));
        Assert.Equal(2, gateway.Statistics.DuplicateAcks);
    }

    [Fact]
    public void An_ack_for_bytes_never_sent_is_dropped_and_counted()
    {
        GatewayEndpoint gateway = Opened(Content(2000));

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12347, 5000, Ack), T0, _answer).AnswerLength);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.AckOutOfRange]);
        Assert.Equal(1, gateway.ConnectionCount);
    }

    [Fact]
    public void Retransmits_the_segment_on_timeout_with_backoff_then_gives_up()
    {
        var policy = new RetransmissionPolicy { MaximumRetransmissions = 3, MaximumTimeout = TimeSpan.FromSeconds(1) };
        GatewayEndpoint gateway = Opened(Content(600), new GatewayOptions { Retransmission = policy });

        var retransmittedAt = new List<double>();
        while (gateway.PollTimeout() is { } due)
        {
            gateway.HandleTimeout(due);
            while (gateway.PollTransmit(_answer, out Transmit transmit))
            {
                Assert.Equal(Client, transmit.Destination);
                Assert.Equal("101 12347 ACK", Describe(_answer.AsSpan(0, transmit.Length)));
                retransmittedAt.Add((due - T0).TotalMilliseconds);
            }
        }

        Assert.Equal(new[] { 200.0, 600, 1400 }, retransmittedAt);
        Assert.Equal(0, gateway.ConnectionCount);
        gateway.PollEvent(out _);
        Assert.True(gateway.PollEvent(out GatewayEvent givenUp));
        Assert.Equal(GatewayEventKind.TimedOut, givenUp.Kind);
        Assert.Equal(3, givenUp.Retransmissions);
    }

    [Fact]
    public void The_peak_of_open_connections_stays_when_they_close()
    {
        GatewayEndpoint gateway = Opened(Content(10));
        var other = Address(40001);
        gateway.HandleDatagram(other, Make(1, 0, Syn), T0, _answer);
        gateway.HandleDatagram(other, Make(2, 101, Ack), T0, _answer);
        Assert.Equal((2, 2), (gateway.ConnectionCount, gateway.PeakConnectionCount));

        gateway.HandleDatagram(other, Make(3, 111, Ack | Fin), T0, _answer); // completed

        Assert.Equal((1, 2), (gateway.ConnectionCount, gateway.PeakConnectionCount));
        Assert.Equal((1, 1), (gateway.ArmedTimers, gateway.ConnectionCount));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Giving_up_with_every_byte_sent_is_a_close_unconfirmed_not_a_failed_transfer(bool plainAckFirst)
    {
        // The last segment (FIN) unanswered: the client may have it all and have left, its ACK|FIN lost;
        // or it acknowledged every byte with a plain ACK and its FIN never came.
        var policy = new RetransmissionPolicy { MaximumRetransmissions = 2 };
        GatewayEndpoint gateway = Opened(Content(600), new GatewayOptions { Retransmission = policy });
        Assert.Equal("613 12348 ACK FIN", Answer(gateway, Make(12347, 613, Ack)));
        if (plainAckFirst)
        {
            Assert.Equal(0, gateway.HandleDatagram(Client, Make(12348, 701, Ack), T0, _answer).AnswerLength);
        }

        while (gateway.PollTimeout() is { } due)
        {
            gateway.HandleTimeout(due);
            while (gateway.PollTransmit(_answer, out _))
            {
            }
        }

        GatewayEvent last = default;
        while (gateway.PollEvent(out GatewayEvent e))
        {
            last = e;
        }

        Assert.Equal(GatewayEventKind.CloseUnconfirmed, last.Kind);
        Assert.Equal((1L, 0L, 0L), (gateway.Statistics.ClosesUnconfirmed, gateway.Statistics.ConnectionsTimedOut, gateway.Statistics.ConnectionsCompleted));
    }

    [Fact]
    public void A_new_connection_starts_from_the_round_trip_estimate_of_the_last_completed_one()
    {
        GatewayEndpoint gateway = Gateway(Content(100));
        TimeSpan oneMillisecond = TimeSpan.FromMilliseconds(1);
        gateway.HandleDatagram(Client, Make(1, 0, Syn), T0, _answer);
        gateway.HandleDatagram(Client, Make(2, 101, Ack), T0, _answer);
        gateway.HandleDatagram(Client, Make(3, 201, Ack | Fin), T0 + oneMillisecond, _answer);
        Assert.Equal(1, gateway.Statistics.ConnectionsCompleted);

        PeerAddress next = Address(40001);
        gateway.HandleDatagram(next, Make(7, 0, Syn), T0, _answer);
        gateway.HandleDatagram(next, Make(8, 101, Ack), T0, _answer);

        // SRTT 1 ms, RTTVAR 0.5 ms: RTO = 3 ms, raised to the 20 ms floor instead of the 200 ms initial RTO.
        Assert.Equal(T0 + RetransmissionPolicy.Default.MinimumTimeout, gateway.PollTimeout());
    }

    [Fact]
    public void The_shared_estimate_is_the_last_completed_connections_not_the_first()
    {
        GatewayEndpoint gateway = Gateway(Content(100));
        CompleteOne(gateway, Address(40001), roundTrip: TimeSpan.FromMilliseconds(100));
        TimeSpan afterFirst = gateway.SharedRoundTripEstimate!.Value.Smoothed;
        CompleteOne(gateway, Address(40002), roundTrip: TimeSpan.FromMilliseconds(10));

        Assert.Equal(TimeSpan.FromMilliseconds(100), afterFirst);
        Assert.True(gateway.SharedRoundTripEstimate!.Value.Smoothed < afterFirst, "the second connection's sample was not kept");
    }

    [Fact]
    public void An_ack_fin_of_a_segment_before_the_last_does_not_complete_the_transfer()
    {
        GatewayEndpoint gateway = Opened(Content(1541));

        Assert.Equal(0, gateway.HandleDatagram(Client, Make(12347, 613, Ack | Fin), T0, _answer).AnswerLength);
        Assert.Equal(1, gateway.ConnectionCount);
        Assert.Equal(0, gateway.Statistics.ConnectionsCompleted);
        Assert.Equal(1, gateway.Statistics.DuplicateAcks);
    }

    [Fact]
    public void A_retransmission_queued_for_a_connection_replaced_before_it_was_sent_is_not_sent()
    {
        GatewayEndpoint gateway = Opened(Content(600));
        gateway.HandleTimeout(T0 + RetransmissionPolicy.Default.InitialTimeout); // queued, not yet polled

        Answer(gateway, Make(778, 101, Ack)); // the client restarted with ISN 777
        Assert.Equal(1, gateway.Statistics.ConnectionsReplaced);

        Assert.False(gateway.PollTransmit(_answer, out _));
    }

    [Fact]
    public void A_retransmission_queued_for_a_connection_given_up_before_it_was_sent_is_not_sent()
    {
        var policy = new RetransmissionPolicy { MaximumRetransmissions = 1 };
        GatewayEndpoint gateway = Opened(Content(600), new GatewayOptions { Retransmission = policy });
        gateway.HandleTimeout(gateway.PollTimeout()!.Value); // the one retransmission allowed, queued
        gateway.HandleTimeout(gateway.PollTimeout()!.Value); // past the bound: given up

        Assert.Equal(1, gateway.Statistics.ConnectionsTimedOut);
        Assert.False(gateway.PollTransmit(_answer, out _));
    }

    [Fact]
    public void A_client_restarting_with_a_new_isn_replaces_its_connection()
    {
        GatewayEndpoint gateway = Opened(Content(2000));
        Answer(gateway, Make(12347, 613, Ack));

        Assert.Equal("100 778 ACK SYN", Answer(gateway, Make(777, 0, Syn)));
        Assert.Equal("101 779 ACK", Answer(gateway, Make(778, 101, Ack)));
        Assert.Equal(1, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.ConnectionsReplaced);
    }

    [Fact]
    public void Each_connection_keeps_the_content_it_started_with()
    {
        byte[] before = Content(600);
        byte[] after = Content(700);
        GatewayEndpoint gateway = Gateway(before);
        Answer(gateway, Make(1, 0, Syn));
        byte[] first = AnswerBytes(gateway, Make(2, 101, Ack));

        gateway.SetContent(after);
        byte[] second = AnswerBytes(gateway, Make(3, 613, Ack));

        Assert.Equal(before, (byte[])[.. first[12..], .. second[12..]]);
        Assert.Equal(after.AsSpan(0, 512).ToArray(), AnswerBytes(gateway, Make(2, 101, Ack), Address(40001))[12..]);
    }

    [Fact]
    public void Refuses_a_handshake_beyond_the_connection_limit()
    {
        GatewayEndpoint gateway = Gateway(Content(100), new GatewayOptions { MaximumConnections = 1 });
        Answer(gateway, Make(1, 0, Syn));
        Answer(gateway, Make(2, 101, Ack));

        Assert.Equal(0, gateway.HandleDatagram(Address(40001), Make(2, 101, Ack), T0, _answer).AnswerLength);
        Assert.Equal(1, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.TableFull]);
    }

    [Fact]
    public void Runts_payloads_reserved_bits_and_odd_flags_are_counted_and_never_fatal()
    {
        GatewayEndpoint gateway = Gateway(Content(100));

        Assert.Equal(0, gateway.HandleDatagram(Client, new byte[3], T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(1, 2, Fin), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(1, 2, Syn | Ack), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(1, 2, Syn | Fin), T0, _answer).AnswerLength);
        Assert.Equal(0, gateway.HandleDatagram(Client, Make(1, 0, Syn, "hello"u8), T0, _answer).AnswerLength);
        byte[] synWithReservedBits = Make(1, 0, Syn);
        synWithReservedBits[8] = 0xFF;
        Assert.Equal(SegmentHeader.Size, gateway.HandleDatagram(Client, synWithReservedBits, T0, _answer).AnswerLength);

        Assert.Equal(1, gateway.Statistics.Drops[DropReason.TooShort]);
        Assert.Equal(3, gateway.Statistics.Drops[DropReason.NoConnection] + gateway.Statistics.Drops[DropReason.UnexpectedFlags]);
        Assert.Equal(1, gateway.Statistics.ReservedBitsSet);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.ClientPayload]);
    }

    /// <summary>One connection of <paramref name="peer"/> from SYN to ACK|FIN, its one segment acknowledged after <paramref name="roundTrip"/>.</summary>
    private void CompleteOne(GatewayEndpoint gateway, PeerAddress peer, TimeSpan roundTrip)
    {
        gateway.HandleDatagram(peer, Make(1, 0, Syn), T0, _answer);
        gateway.HandleDatagram(peer, Make(2, 101, Ack), T0, _answer);
        gateway.HandleDatagram(peer, Make(3, 201, Ack | Fin), T0 + roundTrip, _answer);
    }

    /// <summary>A gateway with one connection open, of <see cref="Client"/> (ISN 12345), its first segment sent at T0.</summary>
    private GatewayEndpoint Opened(byte[] content, GatewayOptions? options = null)
    {
        GatewayEndpoint gateway = Gateway(content, options);
        Answer(gateway, Make(12345, 0, Syn));
        Answer(gateway, Make(12346, 101, Ack));
        return gateway;
    }

    private static GatewayEndpoint Gateway(byte[] content, GatewayOptions? options = null) =>
        new(content, new FixedSynCookie(new SequenceNumber(100)), options);

    private string Answer(GatewayEndpoint gateway, byte[] datagram) => Describe(AnswerBytes(gateway, datagram));

    private byte[] AnswerBytes(GatewayEndpoint gateway, byte[] datagram, PeerAddress? from = null)
    {
        int length = gateway.HandleDatagram(from ?? Client, datagram, T0, _answer).AnswerLength;
        Assert.True(length > 0, "expected an answer");
        return _answer.AsSpan(0, length).ToArray();
    }
}
