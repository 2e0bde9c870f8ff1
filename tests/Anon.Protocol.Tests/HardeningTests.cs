using System.Net;
using CsCheck;

namespace Anon.Protocol.Tests;

/// <summary>What hostile or broken traffic can and cannot make the cores do.</summary>
public class HardeningTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];

    [Fact]
    public void A_flood_of_100000_syns_from_as_many_addresses_keeps_no_state_and_allocates_nothing()
    {
        var gateway = new GatewayEndpoint(Packets.Content(13112), KeyedSynCookies.CreateRandom());
        byte[] syn = Packets.Make(1, 0, SegmentFlags.Syn);
        gateway.HandleDatagram(Packets.Address(1), syn, T0, _answer); // warm up
        Span<byte> address = stackalloc byte[4];

        int answered = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(address, 0x7F00_0000u + (uint)i); // 127.0.0.0 + i, one per SYN
            syn[3] = (byte)i; // ISN
            answered += gateway.HandleDatagram(new PeerAddress(address, (ushort)i), syn, T0, _answer).AnswerLength == SegmentHeader.Size ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(100_000, answered);
        Assert.Equal(0, gateway.ConnectionCount);
        Assert.Null(gateway.PollTimeout());
        Assert.Equal(100_001, gateway.Statistics.SynsAnswered);
    }

    [Fact]
    public void No_datagram_from_an_unproven_address_gets_a_larger_answer_or_any_state()
    {
        var gateway = new GatewayEndpoint(Packets.Content(13112), KeyedSynCookies.CreateRandom());
        byte[] answer = new byte[Segments.MaxDatagram];

        Gen.Select(Gen.Byte.Array[0, 700], Gen.UInt[0, 7], Gen.Int[1, 65535]).Sample((datagram, flags, port) =>
        {
            if (datagram.Length >= SegmentHeader.Size)
            {
                datagram[8] = datagram[9] = datagram[10] = 0;
                datagram[11] = (byte)flags; // every flag combination, not just random words
            }

            int length = gateway.HandleDatagram(Packets.Address(port), datagram, T0, answer).AnswerLength;
            return length <= datagram.Length && gateway.ConnectionCount == 0;
        }, iter: 200_000, threads: 1); // one thread: the core, like the gateway's loop, is single-threaded
    }

    [Fact]
    public void Two_million_random_datagrams_amid_a_transfer_never_break_the_gateway_or_the_transfer()
    {
        var random = new Random(20261124);
        byte[] content = Packets.Content(13112);
        var options = new GatewayOptions { MaximumConnections = 8 };
        var gateway = new GatewayEndpoint(content, new FixedSynCookie(new SequenceNumber(100)), options);
        var client = new ClientConnection(new SequenceNumber(5000), T0);
        PeerAddress clientAddress = Packets.Address(40000);
        byte[] toGateway = new byte[Segments.MaxDatagram];
        byte[] toClient = new byte[Segments.MaxDatagram];
        byte[] noise = new byte[700];
        TimeSpan now = T0;

        // The transfer takes 28 turns (SYN, handshake ACK, 25 data ACKs, ACK|FIN), spread over the
        // whole run so that nearly all the noise meets a gateway with the transfer open.
        const int Datagrams = 2_000_000;
        const int TurnEvery = Datagrams / 28;
        int completedAt = -1;
        Assert.True(client.PollTransmit(toGateway, out int pending));
        for (int i = 0; i < Datagrams; i++)
        {
            now += TimeSpan.FromMicroseconds(1);
            int length = random.Next(0, 40) == 0 ? random.Next(0, noise.Length) : random.Next(0, 24);
            random.NextBytes(noise.AsSpan(0, length));
            if (length >= SegmentHeader.Size && random.Next(2) == 0)
            {
                noise[8] = noise[9] = noise[10] = 0;
                noise[11] &= 0b111;
            }

            // Noise from strangers, and now and then forged as if from the client itself.
            PeerAddress from = random.Next(0, 10) == 0 ? clientAddress : Packets.Address(random.Next(1, 65536));
            int answer = gateway.HandleDatagram(from, noise.AsSpan(0, length), now, toClient).AnswerLength;
            Assert.True(answer <= length || gateway.HasConnection(from), "a stranger got a larger answer");
            Assert.True(gateway.ConnectionCount <= options.MaximumConnections);

            if (i % TurnEvery == 0 && pending > 0)
            {
                int reply = gateway.HandleDatagram(clientAddress, toGateway.AsSpan(0, pending), now, toClient).AnswerLength;
                pending = reply > 0 ? client.HandleDatagram(toClient.AsSpan(0, reply), now, toGateway).AnswerLength : 0;
                completedAt = client.IsComplete && completedAt < 0 ? i : completedAt;
            }
        }

        Assert.True(client.IsComplete, $"client state {client.State}");
        Assert.InRange(completedAt, Datagrams * 9 / 10, Datagrams); // open for over 90 % of the noise
        Assert.Equal(content, client.Content.ToArray());
        DropCounts drops = gateway.Statistics.Drops;
        Assert.True(
            drops[DropReason.TooShort] + drops[DropReason.NoConnection] + drops[DropReason.UnexpectedFlags] + drops[DropReason.AckOutOfRange] + drops[DropReason.FinWithoutAck] > 1_000_000);
    }

    [Fact]
    public void A_million_random_datagrams_at_the_client_never_corrupt_what_it_received()
    {
        var random = new Random(7);
        byte[] content = Packets.Content(1500);
        var client = new ClientConnection(new SequenceNumber(5000), T0);
        client.PollTransmit(_answer, out _);
        client.HandleDatagram(Packets.Make(100, 5001, SegmentFlags.Syn | SegmentFlags.Ack), T0, _answer);
        client.HandleDatagram(Packets.Make(101, 5002, SegmentFlags.Ack, content.AsSpan(0, 512)), T0, _answer);
        byte[] noise = new byte[700];

        for (int i = 0; i < 1_000_000; i++)
        {
            int length = random.Next(0, 600);
            random.NextBytes(noise.AsSpan(0, length));
            if (length >= SegmentHeader.Size)
            {
                noise[8] = noise[9] = noise[10] = 0;
                noise[11] &= 0b111;
            }

            int answer = client.HandleDatagram(noise.AsSpan(0, length), T0, _answer).AnswerLength;
            Assert.True(answer is 0 or SegmentHeader.Size);
        }

        Assert.Equal(content.AsSpan(0, 512).ToArray(), client.Content.ToArray());
        client.HandleDatagram(Packets.Make(613, 5003, SegmentFlags.Ack, content.AsSpan(512, 512)), T0, _answer);
        client.HandleDatagram(Packets.Make(1125, 5004, SegmentFlags.Ack | SegmentFlags.Fin, content.AsSpan(1024)), T0, _answer);
        Assert.True(client.IsComplete);
        Assert.Equal(content, client.Content.ToArray());
    }

    [Fact]
    public void One_source_opening_connections_too_fast_is_held_to_its_rate_while_others_are_not()
    {
        var options = new GatewayOptions { NewConnectionsPerSecondPerSource = 10 };
        var gateway = new GatewayEndpoint(Packets.Content(100), new FixedSynCookie(new SequenceNumber(100)), options);
        int opened = 0;
        for (int port = 1; port <= 100; port++)
        {
            opened += gateway.HandleDatagram(Address("10.0.0.1", port), Packets.Make(1, 101, SegmentFlags.Ack), T0, _answer).AnswerLength > 0 ? 1 : 0;
        }

        Assert.Equal(20, opened); // the burst: twice the rate
        Assert.Equal(80, gateway.Statistics.Drops[DropReason.RateLimited]);
        Assert.True(gateway.HandleDatagram(Address("10.0.0.2", 1), Packets.Make(1, 101, SegmentFlags.Ack), T0, _answer).AnswerLength > 0);
        Assert.True(gateway.HandleDatagram(Address("10.0.0.1", 500), Packets.Make(1, 101, SegmentFlags.Ack), T0 + TimeSpan.FromSeconds(1), _answer).AnswerLength > 0);
    }

    private static PeerAddress Address(string ip, int port) => new PeerAddress(IPAddress.Parse(ip), port);
}
