using static Anon.Protocol.Tests.Packets;

namespace Anon.Protocol.Tests;

public class ClientConnectionTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    [Fact]
    public void Starts_with_a_syn_carrying_its_isn_and_ack_zero()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);

        Assert.Equal("12345 0 SYN", PollOne(client));
        Assert.Equal(ClientState.SynSent, client.State);
        Assert.Equal(T0 + RetransmissionPolicy.Default.InitialTimeout, client.PollTimeout());
    }

    [Fact]
    public void Resends_the_syn_with_a_doubled_timeout_until_the_idle_timeout()
    {
        var options = new ClientOptions { Retransmission = new RetransmissionPolicy { MaximumTimeout = TimeSpan.FromSeconds(1) } };
        var client = new ClientConnection(new SequenceNumber(12345), T0, options);
        PollOne(client);

        client.HandleTimeout(T0 + TimeSpan.FromMilliseconds(200));
        Assert.Equal("12345 0 SYN", PollOne(client));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(600), client.PollTimeout());

        client.HandleTimeout(T0 + ClientOptions.Default.IdleTimeout);
        Assert.Equal(ClientState.Failed, client.State);
        Assert.Equal(new ClientFailure(ClientFailureKind.NoAnswer, TimeSpan.FromSeconds(10), 0, ClientOptions.Default.MaximumContentLength), client.Failure);
        Assert.Null(client.PollTimeout());
    }

    [Fact]
    public void Answers_the_syn_ack_with_the_handshake_ack()
    {
        ClientConnection client = Established(out string answer);

        Assert.Equal("12346 101 ACK", answer);
        Assert.Equal(ClientState.Established, client.State);
        Assert.Equal(TimeSpan.FromMilliseconds(5), client.Statistics.HandshakeRoundTripTime);
    }

    [Fact]
    public void Ignores_a_syn_ack_that_does_not_acknowledge_its_syn()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);
        PollOne(client);

        Assert.Equal(0, client.HandleDatagram(Make(100, 99, Syn | Ack), T0, _answer).AnswerLength);
        Assert.Equal(ClientState.SynSent, client.State);
    }

    /// <summary>The outcome says what the datagram was and what became of it, so that the loop logs it without reading it again.</summary>
    [Fact]
    public void Each_datagram_handled_returns_its_header_its_answer_and_why_it_was_dropped()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);
        PollOne(client);

        ClientDatagramOutcome runt = client.HandleDatagram(new byte[5], T0, _answer);
        ClientDatagramOutcome wrongAck = client.HandleDatagram(Make(100, 99, Syn | Ack), T0, _answer);
        ClientDatagramOutcome synAck = client.HandleDatagram(Make(100, 12346, Syn | Ack), T0, _answer);

        Assert.Equal(new ClientDatagramOutcome { Dropped = DropReason.TooShort }, runt);
        Assert.Equal("100 99 ACK SYN", wrongAck.Received?.ToString());
        Assert.Equal((0, DropReason.SynAckWrongAck), (wrongAck.AnswerLength, wrongAck.Dropped));
        Assert.Equal((SegmentHeader.Size, DropReason.None), (synAck.AnswerLength, synAck.Dropped));
        Assert.Equal("12346 101 ACK", Describe(_answer.AsSpan(0, synAck.AnswerLength)));
    }

    [Fact]
    public void Ignores_a_syn_ack_that_carries_payload()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);
        PollOne(client);

        Assert.Equal(0, client.HandleDatagram(Make(100, 12346, Syn | Ack, "PAD"u8), T0, _answer).AnswerLength);
        Assert.Equal(1, client.Statistics.Drops[DropReason.SynAckPayload]);
        Assert.Equal(ClientState.SynSent, client.State);
    }

    [Fact]
    public void Resends_the_handshake_ack_until_the_first_segment_arrives()
    {
        ClientConnection client = Established(out _);
        TimeSpan due = client.PollTimeout()!.Value;

        client.HandleTimeout(due);
        Assert.Equal("12346 101 ACK", PollOne(client));
        Assert.Equal(1, client.Statistics.Retransmissions);
    }

    [Fact]
    public void A_duplicate_syn_ack_gets_the_handshake_ack_again_and_another_isn_is_ignored()
    {
        ClientConnection client = Established(out _);

        Assert.Equal("12346 101 ACK", Answer(client, Make(100, 12346, Syn | Ack)));
        Assert.Equal(0, client.HandleDatagram(Make(5000, 12346, Syn | Ack), T0, _answer).AnswerLength);
        Assert.Equal(ClientState.Established, client.State);
    }

    [Fact]
    public void Acknowledges_each_segment_and_answers_the_fin_with_fin_ack()
    {
        ClientConnection client = Established(out _);
        byte[] content = Content(1000);

        Assert.Equal("12347 613 ACK", Answer(client, Make(101, 12347, Ack, content.AsSpan(0, 512))));
        Assert.Equal(ClientState.Receiving, client.State);
        Assert.Null(Transmit(client)); // no timer-driven sends once data flows
        Assert.Equal("12348 1101 ACK FIN", Answer(client, Make(613, 12348, Ack | Fin, content.AsSpan(512))));

        Assert.Equal(ClientState.Finished, client.State);
        Assert.Equal(content, client.Content.ToArray());
    }

    [Fact]
    public void A_duplicate_segment_is_acknowledged_again_and_never_appended()
    {
        ClientConnection client = Established(out _);
        byte[] content = Content(1024);
        byte[] first = Make(101, 12347, Ack, content.AsSpan(0, 512));

        Assert.Equal("12347 613 ACK", Answer(client, first));
        Assert.Equal("12347 613 ACK", Answer(client, first));
        Assert.Equal(512, client.Content.Length);
        Assert.Equal(1, client.Statistics.DuplicateSegments);
    }

    [Fact]
    public void A_segment_ahead_of_the_expected_one_is_dropped()
    {
        ClientConnection client = Established(out _);

        Assert.Equal(0, client.HandleDatagram(Make(613, 12347, Ack, Content(512)), T0, _answer).AnswerLength);
        Assert.Equal(0, client.Content.Length);
        Assert.Equal(ClientState.Established, client.State);
    }

    [Theory]
    [InlineData(513)]
    [InlineData(1000)]
    public void A_segment_longer_than_512_bytes_is_dropped(int length)
    {
        ClientConnection client = Established(out _);

        Assert.Equal(0, client.HandleDatagram(Make(101, 12347, Ack, Content(length)), T0, _answer).AnswerLength);
        Assert.Equal(0, client.Content.Length);
    }

    [Fact]
    public void A_repeated_fin_gets_fin_ack_again_while_lingering_then_the_connection_closes()
    {
        var options = new ClientOptions { Linger = TimeSpan.FromMilliseconds(300) };
        ClientConnection client = Established(out _, options);
        byte[] fin = Make(101, 12347, Ack | Fin, "COMMAND=LIGHTON"u8);

        Assert.Equal("12347 116 ACK FIN", Answer(client, fin));
        Assert.Equal("12347 116 ACK FIN", Answer(client, fin));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(300), client.PollTimeout());

        client.HandleTimeout(T0 + TimeSpan.FromMilliseconds(300));
        Assert.Equal(ClientState.Closed, client.State);
        Assert.True(client.IsComplete);
    }

    [Fact]
    public void Empty_content_is_one_fin_and_a_repeat_of_it_is_answered_again()
    {
        ClientConnection client = Established(out _);

        Assert.Equal("12347 101 ACK FIN", Answer(client, Make(101, 12347, Ack | Fin)));
        Assert.Equal("12347 101 ACK FIN", Answer(client, Make(101, 12347, Ack | Fin)));
        Assert.Equal(0, client.Content.Length);
        Assert.True(client.IsComplete);
    }

    [Fact]
    public void An_empty_segment_without_fin_is_dropped()
    {
        ClientConnection client = Established(out _);

        Assert.Equal(0, client.HandleDatagram(Make(101, 12347, Ack), T0, _answer).AnswerLength);
        Assert.Equal(ClientState.Established, client.State);
    }

    [Fact]
    public void Works_across_the_wrap_of_the_sequence_space()
    {
        var client = new ClientConnection(new SequenceNumber(uint.MaxValue), T0);
        PollOne(client);
        Assert.Equal("0 4294967295 ACK", Answer(client, Make(uint.MaxValue - 1, 0, Syn | Ack)));
        byte[] content = Content(700);

        Assert.Equal("1 511 ACK", Answer(client, Make(uint.MaxValue, 1, Ack, content.AsSpan(0, 512))));
        Assert.Equal("2 699 ACK FIN", Answer(client, Make(511, 2, Ack | Fin, content.AsSpan(512))));
        Assert.Equal(content, client.Content.ToArray());
    }

    [Fact]
    public void Runts_and_unknown_flag_combinations_are_dropped_and_counted()
    {
        ClientConnection client = Established(out _);

        Assert.Equal(0, client.HandleDatagram(new byte[5], T0, _answer).AnswerLength);
        Assert.Equal(0, client.HandleDatagram(Make(101, 12347, Syn), T0, _answer).AnswerLength);
        // A bare FIN is a data segment now (the spec's sample ends with one); SYN|FIN is not.
        Assert.Equal(0, client.HandleDatagram(Make(101, 12347, Syn | Fin), T0, _answer).AnswerLength);
        Assert.Equal(3, client.Statistics.Dropped);
        Assert.Equal(1, client.Statistics.Drops[DropReason.TooShort]);
        Assert.Equal(2, client.Statistics.Drops[DropReason.UnexpectedFlags]);
    }

    [Fact]
    public void A_stalled_transfer_fails_after_the_idle_timeout_with_what_it_had()
    {
        ClientConnection client = Established(out _);
        Answer(client, Make(101, 12347, Ack, Content(512)));

        client.HandleTimeout(T0 + ClientOptions.Default.IdleTimeout);

        Assert.Equal(ClientState.Failed, client.State);
        Assert.Equal(new ClientFailure(ClientFailureKind.Stalled, TimeSpan.FromSeconds(10), 512, ClientOptions.Default.MaximumContentLength), client.Failure);
    }

    [Fact]
    public void Content_beyond_the_maximum_fails_the_transfer()
    {
        ClientConnection client = Established(out _, new ClientOptions { MaximumContentLength = 600 });
        Answer(client, Make(101, 12347, Ack, Content(512)));

        Assert.Equal(0, client.HandleDatagram(Make(613, 12348, Ack, Content(512)), T0, _answer).AnswerLength);
        Assert.Equal(ClientState.Failed, client.State);
    }

    [Fact]
    public void Data_before_the_syn_ack_is_dropped_even_when_numbered_from_zero()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);
        PollOne(client);

        Assert.Equal(0, client.HandleDatagram(Make(0, 12346, Ack, Content(10)), T0, _answer).AnswerLength);
        Assert.Equal(0, client.Content.Length);
        Assert.Equal(1, client.Statistics.Drops[DropReason.DataBeforeHandshake]);
        Assert.Equal(ClientState.SynSent, client.State);
    }

    [Fact]
    public void A_segment_overlapping_the_one_received_is_dropped_not_acknowledged()
    {
        ClientConnection client = Established(out _);
        Answer(client, Make(101, 12347, Ack, Content(512)));

        Assert.Equal(0, client.HandleDatagram(Make(357, 12348, Ack, Content(512)), T0, _answer).AnswerLength); // bytes 256 to 767
        Assert.Equal(512, client.Content.Length);
        Assert.Equal(1, client.Statistics.Drops[DropReason.OutOfOrder]);
        Assert.Equal(0, client.Statistics.DuplicateSegments);
    }

    [Theory]
    [InlineData(1, Ack)]
    [InlineData(0, Ack | Fin)]
    public void A_segment_numbered_from_the_gateway_isn_itself_is_not_taken_for_one_already_received(int length, SegmentFlags flags)
    {
        // The SYN|ACK took the gateway's ISN (100); data starts at 101. A gateway that numbers its
        // first segment 100 is out of order, not a duplicate to acknowledge again.
        ClientConnection client = Established(out _);

        Assert.Equal(0, client.HandleDatagram(Make(100, 12347, flags, Content(length)), T0, _answer).AnswerLength);
        Assert.Equal(1, client.Statistics.Drops[DropReason.OutOfOrder]);
        Assert.Equal(ClientState.Established, client.State);
    }

    [Fact]
    public void Data_after_the_fin_is_dropped_while_lingering()
    {
        ClientConnection client = Established(out _, new ClientOptions { Linger = TimeSpan.FromSeconds(1) });
        Answer(client, Make(101, 12347, Ack | Fin, "COMMAND=LIGHTON"u8));

        Assert.Equal(0, client.HandleDatagram(Make(116, 12348, Ack, "MORE"u8), T0, _answer).AnswerLength);
        Assert.Equal("COMMAND=LIGHTON"u8.ToArray(), client.Content.ToArray());
        Assert.Equal(1, client.Statistics.Drops[DropReason.DataAfterFin]);
    }

    [Fact]
    public void Once_closed_a_retransmitted_fin_gets_no_answer_and_is_counted()
    {
        ClientConnection client = Established(out _, new ClientOptions { Linger = TimeSpan.Zero });
        byte[] fin = Make(101, 12347, Ack | Fin, "COMMAND=LIGHTON"u8);
        Answer(client, fin);
        client.HandleTimeout(T0);
        Assert.Equal(ClientState.Closed, client.State);

        Assert.Equal(0, client.HandleDatagram(fin, T0, _answer).AnswerLength);
        Assert.Equal(1, client.Statistics.Drops[DropReason.TransferEnded]);
    }

    [Fact]
    public void A_handshake_that_brings_no_data_is_abandoned_for_a_new_one_with_a_new_isn()
    {
        ClientConnection client = Established(out _);
        TimeSpan fallback = T0 + ClientOptions.Default.HandshakeFallback;
        DriveTimersUntil(client, fallback - TimeSpan.FromMilliseconds(1)); // the handshake ACK's retransmissions
        Assert.Equal(ClientState.Established, client.State);

        client.HandleTimeout(fallback);

        Assert.Equal(ClientState.SynSent, client.State);
        Assert.Equal($"{12345 + (1L << 31)} 0 SYN", PollOne(client));
        Assert.Equal(1, client.Statistics.NewHandshakes);
    }

    [Fact]
    public void The_new_handshake_completes_the_transfer_and_the_old_one_is_ignored()
    {
        ClientConnection client = Established(out _, newInitialSequence: () => new SequenceNumber(7000));
        client.HandleTimeout(T0 + ClientOptions.Default.HandshakeFallback);
        Assert.Equal("7000 0 SYN", PollOne(client));

        // The first gateway's segment, should it come late, and its SYN|ACK again: neither is taken.
        Assert.Equal(0, client.HandleDatagram(Make(101, 12347, Ack, "OLD"u8), T0, _answer).AnswerLength);
        Assert.Equal(0, client.HandleDatagram(Make(100, 12346, Syn | Ack), T0, _answer).AnswerLength);
        Assert.Equal(1, client.Statistics.Drops[DropReason.DataBeforeHandshake]);
        Assert.Equal(1, client.Statistics.Drops[DropReason.SynAckWrongAck]);

        Assert.Equal("7001 901 ACK", Answer(client, Make(900, 7001, Syn | Ack)));
        Assert.Equal("7002 916 ACK FIN", Answer(client, Make(901, 7002, Ack | Fin, "COMMAND=LIGHTON"u8)));
        Assert.Equal("COMMAND=LIGHTON"u8.ToArray(), client.Content.ToArray());
    }

    [Fact]
    public void A_port_unreachable_after_the_syn_ack_starts_a_new_handshake_at_once_and_before_it_changes_nothing()
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0);
        PollOne(client);
        client.HandleUnreachable(T0);
        Assert.Null(Transmit(client));
        Assert.Equal(ClientState.SynSent, client.State);

        Answer(client, Make(100, 12346, Syn | Ack));
        client.HandleUnreachable(T0);

        Assert.Equal(ClientState.SynSent, client.State);
        Assert.EndsWith(" 0 SYN", PollOne(client), StringComparison.Ordinal);
        Assert.Equal(1, client.Statistics.NewHandshakes);
    }

    [Fact]
    public void Once_data_flows_silence_or_a_port_unreachable_starts_no_new_handshake()
    {
        ClientConnection client = Established(out _);
        Answer(client, Make(101, 12347, Ack, Content(512)));
        client.HandleUnreachable(T0);
        DriveTimersUntil(client, T0 + ClientOptions.Default.IdleTimeout);

        Assert.Equal(ClientState.Failed, client.State);
        Assert.Equal(ClientFailureKind.Stalled, client.Failure?.Kind);
        Assert.Equal(0, client.Statistics.NewHandshakes);
    }

    [Fact]
    public void A_gateway_that_answers_every_syn_and_sends_no_data_fails_the_transfer_within_the_first_budget()
    {
        ClientConnection client = Established(out _);
        TimeSpan budgetEnd = T0 + ClientOptions.Default.IdleTimeout;
        uint gatewayIsn = 100;
        for (TimeSpan now = T0; client.State != ClientState.Failed && now < T0 + TimeSpan.FromSeconds(60); now += TimeSpan.FromMilliseconds(10))
        {
            client.HandleTimeout(now);
            while (client.PollTransmit(_answer, out int length))
            {
                SegmentHeader sent = Header(_answer.AsSpan(0, length));
                if (sent.IsSyn)
                {
                    // Answered at once, as by a gateway that never sends the page.
                    client.HandleDatagram(Make(gatewayIsn += 1000, (sent.Sequence + 1).Value, Syn | Ack), now, _answer);
                }
            }

            Assert.True(client.State == ClientState.Failed || now < budgetEnd, $"still trying at {now} after a budget ending at {budgetEnd}");
        }

        Assert.Equal(ClientFailureKind.NoData, client.Failure?.Kind);
        Assert.True(client.Statistics.NewHandshakes >= 2, $"{client.Statistics.NewHandshakes} new handshakes");
    }

    private ClientConnection Established(out string handshakeAck, ClientOptions? options = null, Func<SequenceNumber>? newInitialSequence = null)
    {
        var client = new ClientConnection(new SequenceNumber(12345), T0 - TimeSpan.FromMilliseconds(5), options, newInitialSequence);
        PollOne(client);
        handshakeAck = Answer(client, Make(100, 12346, Syn | Ack));
        return client;
    }

    private string Answer(ClientConnection client, byte[] datagram)
    {
        int length = client.HandleDatagram(datagram, T0, _answer).AnswerLength;
        Assert.True(length > 0, "expected an answer");
        return Describe(_answer.AsSpan(0, length));
    }

    private string PollOne(ClientConnection client) => Transmit(client) ?? throw new Xunit.Sdk.XunitException("nothing to send");

    /// <summary>Runs the client's timers, and sends what they bring to nowhere, up to <paramref name="until"/>.</summary>
    private void DriveTimersUntil(ClientConnection client, TimeSpan until)
    {
        while (client.PollTimeout() is { } due && due <= until)
        {
            client.HandleTimeout(due);
            while (Transmit(client) is not null)
            {
            }
        }
    }

    private string? Transmit(ClientConnection client) =>
        client.PollTransmit(_answer, out int length) ? Describe(_answer.AsSpan(0, length)) : null;
}
