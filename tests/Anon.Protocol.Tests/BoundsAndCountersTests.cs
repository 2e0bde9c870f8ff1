using System.Net;
using Anon.Protocol.Tests.Simulation;

namespace Anon.Protocol.Tests;

/// <summary>
/// What mutation testing (docs/TESTING.md) found unchecked: the figures the cores count, the bounds
/// their options validate, and the edges of the value types, each at the exact boundary.
/// </summary>
public class BoundsAndCountersTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1000);

    [Fact]
    public void A_lossless_transfer_is_counted_the_same_at_both_ends()
    {
        byte[] content = Packets.Content(13112);
        SimulationResult result = new TransferSimulation(seed: 3, NetworkConditions.Perfect, content).Run();
        GatewayStatistics gateway = result.Gateway.Statistics;
        ClientStatistics client = result.Clients[0].Statistics;

        Assert.Equal(content, result.Clients[0].Content.ToArray());
        Assert.Equal(1, gateway.ConnectionsOpened);
        Assert.Equal(1, gateway.ConnectionsCompleted);
        Assert.Equal(0, gateway.ConnectionsTimedOut);
        Assert.Equal(content.Length, gateway.PayloadBytesSent);
        Assert.Equal(content.Length, client.PayloadBytesReceived);
        Assert.Equal(client.DatagramsSent, gateway.DatagramsReceived); // nothing lost on the way
        Assert.Equal(gateway.DatagramsSent, client.DatagramsReceived);
        Assert.Equal(1 + 26, gateway.DatagramsSent); // the SYN|ACK and 26 segments
        Assert.Equal(1 + 1 + 26, client.DatagramsSent); // the SYN, the handshake ACK, 25 ACKs and the ACK|FIN
    }

    [Fact]
    public void A_connection_past_its_retry_budget_is_counted_as_given_up()
    {
        byte[] content = Packets.Content(2000);
        var gateway = new GatewayEndpoint(content, new FixedSynCookie(new SequenceNumber(100)),
            new GatewayOptions { Retransmission = RetransmissionPolicy.Default with { MaximumRetransmissions = 2 } });
        PeerAddress client = Packets.Address(40000);
        byte[] answer = new byte[Segments.MaxDatagram];
        gateway.HandleDatagram(client, Packets.Make(5000, 0, SegmentFlags.Syn), T0, answer);
        gateway.HandleDatagram(client, Packets.Make(5001, 101, SegmentFlags.Ack), T0, answer);

        for (TimeSpan now = T0; gateway.ConnectionCount > 0 && now < T0 + TimeSpan.FromMinutes(1); now += TimeSpan.FromMilliseconds(10))
        {
            gateway.HandleTimeout(now);
            while (gateway.PollTransmit(answer, out _))
            {
            }
        }

        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Equal(1, gateway.Statistics.ConnectionsOpened);
        Assert.Equal(1, gateway.Statistics.ConnectionsTimedOut);
        Assert.Equal(2, gateway.Statistics.Retransmissions);
        Assert.Equal(1 + 1 + 2, gateway.Statistics.DatagramsSent); // SYN|ACK, the segment, and it twice again
        Assert.Equal(3 * 512, gateway.Statistics.PayloadBytesSent);
    }

    public static TheoryData<string, RetransmissionPolicy> ContradictoryPolicies => new()
    {
        { "minimum zero", RetransmissionPolicy.Default with { MinimumTimeout = TimeSpan.Zero } },
        { "minimum above maximum", RetransmissionPolicy.Default with { MinimumTimeout = TimeSpan.FromSeconds(2), MaximumTimeout = TimeSpan.FromSeconds(1), InitialTimeout = TimeSpan.FromSeconds(1) } },
        { "initial below minimum", RetransmissionPolicy.Default with { InitialTimeout = RetransmissionPolicy.Default.MinimumTimeout - TimeSpan.FromTicks(1) } },
        { "initial above maximum", RetransmissionPolicy.Default with { InitialTimeout = RetransmissionPolicy.Default.MaximumTimeout + TimeSpan.FromTicks(1) } },
        { "negative retransmissions", RetransmissionPolicy.Default with { MaximumRetransmissions = -1 } },
    };

    [Theory]
    [MemberData(nameof(ContradictoryPolicies))]
    public void A_contradictory_retransmission_policy_is_refused_by_both_cores(string why, RetransmissionPolicy policy)
    {
        Action[] refusers =
        [
            policy.Validate,
            () => _ = new GatewayEndpoint(Packets.Content(10), new FixedSynCookie(new SequenceNumber(1)), new GatewayOptions { Retransmission = policy }),
            () => _ = new ClientConnection(new SequenceNumber(1), T0, new ClientOptions { Retransmission = policy }),
        ];
        foreach (Action refuse in refusers)
        {
            Exception? thrown = Record.Exception(refuse);
            Assert.True(thrown is ArgumentException, $"{why}: {thrown?.GetType().Name ?? "accepted"}");
        }
    }

    [Fact]
    public void A_policy_at_its_boundaries_is_valid()
    {
        TimeSpan second = TimeSpan.FromSeconds(1);
        (RetransmissionPolicy.Default with { MinimumTimeout = second, MaximumTimeout = second, InitialTimeout = second, MaximumRetransmissions = 0 }).Validate();
        (RetransmissionPolicy.Default with { InitialTimeout = RetransmissionPolicy.Default.MinimumTimeout }).Validate();
        (RetransmissionPolicy.Default with { InitialTimeout = RetransmissionPolicy.Default.MaximumTimeout }).Validate();
    }

    [Fact]
    public void A_negative_round_trip_sample_counts_as_zero()
    {
        var estimator = new RtoEstimator(RetransmissionPolicy.Default);
        estimator.AddSample(TimeSpan.FromMilliseconds(-5));

        Assert.Equal(TimeSpan.Zero, estimator.SmoothedRoundTripTime);
        Assert.Equal(RetransmissionPolicy.Default.MinimumTimeout, estimator.Current);
    }

    [Fact]
    public void Sequence_number_comparisons_are_strict_or_not_exactly_at_equality()
    {
        var a = new SequenceNumber(uint.MaxValue);
        var b = new SequenceNumber(uint.MaxValue);
        SequenceNumber next = a + 1;

        Assert.False(a < b);
        Assert.False(a > b);
        Assert.True(a <= b);
        Assert.True(a >= b);
        Assert.True(a <= next); // across the wrap
        Assert.False(next <= a);
        Assert.True(next >= a);
    }

    [Fact]
    public void The_per_source_limit_refuses_a_zero_rate_and_the_gateway_takes_zero_as_no_limit()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SourceRateLimiter(0, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SourceRateLimiter(10, 0));

        var gateway = new GatewayEndpoint(Packets.Content(100), new FixedSynCookie(new SequenceNumber(100)), new GatewayOptions { NewConnectionsPerSecondPerSource = 0 });
        byte[] answer = new byte[Segments.MaxDatagram];
        for (int port = 1; port <= 300; port++)
        {
            gateway.HandleDatagram(Packets.Address(port), Packets.Make(5000, 101, SegmentFlags.Ack), T0, answer);
        }

        Assert.Equal(300, gateway.Statistics.ConnectionsOpened);
    }

    [Fact]
    public void The_per_source_limit_holds_an_ipv6_address_to_its_rate_and_not_its_neighbour()
    {
        var limiter = new SourceRateLimiter(1, 2);
        PeerAddress first = new PeerAddress(IPAddress.Parse("2001:db8::1"), 1);
        PeerAddress other = new PeerAddress(IPAddress.Parse("2001:db8::2"), 1);

        Assert.True(limiter.TryAcquire(first, T0));
        Assert.True(limiter.TryAcquire(first, T0));
        Assert.False(limiter.TryAcquire(first, T0));
        Assert.True(limiter.TryAcquire(other, T0));
    }

    [Fact]
    public void A_cookie_is_good_in_its_slot_and_the_next_only_and_covers_every_byte_of_the_address()
    {
        var cookies = new KeyedSynCookies(new byte[32]);
        PeerAddress client = new PeerAddress(IPAddress.Parse("2001:db8::1"), 4000);
        PeerAddress neighbour = new PeerAddress(IPAddress.Parse("2001:db8::2"), 4000);
        var isn = new SequenceNumber(12345);
        TimeSpan slot = KeyedSynCookies.SlotLength;
        SequenceNumber cookie = cookies.Issue(client, isn, T0);

        Assert.True(cookies.Verify(client, isn, cookie, T0));
        Assert.True(cookies.Verify(client, isn, cookie, T0 + slot));
        Assert.False(cookies.Verify(client, isn, cookie, T0 + slot + slot));
        Assert.False(cookies.Verify(client, isn, cookie, T0 - slot)); // not one issued in the future
        Assert.NotEqual(cookie, cookies.Issue(neighbour, isn, T0)); // the last byte of the address counts
        Assert.False(cookies.Verify(new PeerAddress(IPAddress.Parse("fe80::1%1"), 4000), isn,
            cookies.Issue(new PeerAddress(IPAddress.Parse("fe80::1%2"), 4000), isn, T0), T0)); // and the interface
        Assert.Throws<ArgumentException>(() => new KeyedSynCookies(new byte[16]));
    }

    [Fact]
    public void The_reasons_listed_are_every_drop_reason_but_none()
    {
        Assert.DoesNotContain(DropReason.None, DropCounts.Reasons);
        Assert.Equal(Enum.GetValues<DropReason>().Length - 1, DropCounts.Reasons.Count());
    }

    [Fact]
    public void Every_drop_reason_has_a_count_of_its_own()
    {
        var counts = default(DropCounts);
        foreach (DropReason reason in DropCounts.Reasons)
        {
            for (int i = 0; i <= (int)reason; i++)
            {
                counts.Add(reason);
            }
        }

        Assert.All(DropCounts.Reasons, reason => Assert.Equal((int)reason + 1, counts[reason]));
        Assert.Equal(DropCounts.Reasons.Sum(reason => (int)reason + 1), counts.Total);
    }

    [Fact]
    public void Statistics_are_a_copy_that_the_core_does_not_change_afterwards()
    {
        GatewayEndpoint gateway = new(new byte[100], new FixedSynCookie(new SequenceNumber(100)));
        GatewayStatistics before = gateway.Statistics;
        byte[] answer = new byte[Segments.MaxDatagram];

        gateway.HandleDatagram(new PeerAddress(System.Net.IPAddress.Loopback, 4000), new byte[3], T0, answer);

        Assert.Equal(0, before.DatagramsReceived);
        Assert.Equal(0, before.Drops[DropReason.TooShort]);
        Assert.Equal(1, gateway.Statistics.DatagramsReceived);
        Assert.Equal(1, gateway.Statistics.Drops[DropReason.TooShort]);
    }

    [Fact]
    public void A_set_of_drop_reasons_yields_each_once_lowest_first()
    {
        var set = default(DropReasonSet);

        Assert.True(set.Add(DropReason.OutOfOrder));
        Assert.True(set.Add(DropReason.TooShort));
        Assert.False(set.Add(DropReason.OutOfOrder));
        Assert.True(set.TryTakeFirst(out DropReason first));
        Assert.True(set.TryTakeFirst(out DropReason second));
        Assert.False(set.TryTakeFirst(out DropReason none));
        Assert.Equal((DropReason.TooShort, DropReason.OutOfOrder, DropReason.None), (first, second, none));
    }

    [Fact]
    public void Writing_a_header_or_a_log_line_into_too_small_a_buffer_throws_instead_of_writing_part()
    {
        var header = new SegmentHeader(new SequenceNumber(1), new SequenceNumber(2), SegmentFlags.Ack);

        Assert.Throws<ArgumentOutOfRangeException>(() => header.WriteTo(new byte[SegmentHeader.Size - 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketLogLine.Format(new byte[PacketLogLine.MaxLength - 1], PacketDirection.Send, header));
    }

    [Fact]
    public void Content_exactly_at_the_client_maximum_is_taken_and_one_byte_more_is_refused()
    {
        foreach ((int length, bool taken) in new[] { (1000, true), (1001, false) })
        {
            var client = new ClientConnection(new SequenceNumber(5000), T0, new ClientOptions { MaximumContentLength = 1000 });
            byte[] answer = new byte[Segments.MaxDatagram];
            client.PollTransmit(answer, out _);
            client.HandleDatagram(Packets.Make(100, 5001, SegmentFlags.Syn | SegmentFlags.Ack), T0, answer);
            byte[] content = Packets.Content(length);
            uint seq = 101;
            for (int offset = 0; offset < length; offset += 512)
            {
                int size = Math.Min(512, length - offset);
                SegmentFlags flags = offset + size == length ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack;
                client.HandleDatagram(Packets.Make(seq, 5002, flags, content.AsSpan(offset, size)), T0, answer);
                seq += (uint)size;
            }

            Assert.Equal(taken, client.IsComplete);
            if (!taken)
            {
                Assert.Equal(ClientState.Failed, client.State);
                Assert.Equal(new ClientFailure(ClientFailureKind.ContentTooLong, ClientOptions.Default.IdleTimeout, 512, 1000), client.Failure); // worded in PeerWordsTests
            }
        }
    }

    [Fact]
    public void The_client_learns_its_timeout_from_a_syn_answered_once_and_not_from_one_sent_again()
    {
        // RFC 6298 §2.2 and Karn's rule (§3): a sample from the SYN sent once sets the handshake
        // ACK's timer; a SYN sent again gives no sample, and the backed-off timeout stands.
        byte[] answer = new byte[Segments.MaxDatagram];
        TimeSpan rtt = TimeSpan.FromMilliseconds(40);
        var once = new ClientConnection(new SequenceNumber(5000), T0);
        once.PollTransmit(answer, out _);
        once.HandleDatagram(Packets.Make(100, 5001, SegmentFlags.Syn | SegmentFlags.Ack), T0 + rtt, answer);
        var expected = new RtoEstimator(ClientOptions.Default.Retransmission);
        expected.AddSample(rtt);

        Assert.Equal(rtt, once.Statistics.HandshakeRoundTripTime);
        Assert.Equal(T0 + rtt + expected.Current, once.PollTimeout());

        var again = new ClientConnection(new SequenceNumber(5000), T0);
        again.PollTransmit(answer, out _);
        TimeSpan resent = T0 + ClientOptions.Default.Retransmission.InitialTimeout;
        again.HandleTimeout(resent);
        Assert.True(again.PollTransmit(answer, out _));
        again.HandleDatagram(Packets.Make(100, 5001, SegmentFlags.Syn | SegmentFlags.Ack), resent + rtt, answer);

        Assert.Null(again.Statistics.HandshakeRoundTripTime);
        RetransmissionPolicy policy = ClientOptions.Default.Retransmission;
        TimeSpan backedOff = 2 * policy.InitialTimeout < policy.MaximumTimeout ? 2 * policy.InitialTimeout : policy.MaximumTimeout;
        Assert.Equal(resent + rtt + backedOff, again.PollTimeout());
    }

    [Fact]
    public void An_acknowledgment_just_before_the_timeout_moves_the_timer_to_the_next_segment_instead_of_firing_it_early()
    {
        // The old deadline's queue entry stays behind when the ACK re-arms the timer (the queue
        // is never searched); when it comes up it must re-arm, not retransmit (RFC 6298 §5.3).
        var gateway = new GatewayEndpoint(Packets.Content(2000), new FixedSynCookie(new SequenceNumber(100)));
        PeerAddress client = Packets.Address(40000);
        byte[] answer = new byte[Segments.MaxDatagram];
        gateway.HandleDatagram(client, Packets.Make(5000, 0, SegmentFlags.Syn), T0, answer);
        gateway.HandleDatagram(client, Packets.Make(5001, 101, SegmentFlags.Ack), T0, answer);
        TimeSpan initial = RetransmissionPolicy.Default.InitialTimeout;
        TimeSpan acked = T0 + initial - TimeSpan.FromMilliseconds(50);
        Assert.True(gateway.HandleDatagram(client, Packets.Make(5002, 613, SegmentFlags.Ack), acked, answer).AnswerLength > SegmentHeader.Size);

        gateway.HandleTimeout(T0 + initial);
        Assert.False(gateway.PollTransmit(answer, out _));
        TimeSpan next = gateway.PollTimeout()!.Value;
        Assert.True(next > T0 + initial, $"the next deadline {next} is not after the first");
        gateway.HandleTimeout(next - TimeSpan.FromTicks(1));
        Assert.False(gateway.PollTransmit(answer, out _));

        gateway.HandleTimeout(next);
        Assert.True(gateway.PollTransmit(answer, out Transmit transmit));
        Assert.Equal(613u, SegmentHeader.TryRead(answer.AsSpan(0, transmit.Length), out SegmentHeader header) ? header.Sequence.Value : 0);
        Assert.Equal(1, gateway.Statistics.Retransmissions);
    }
}
