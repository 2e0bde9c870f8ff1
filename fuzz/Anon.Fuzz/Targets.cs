using System.Net;
using Anon.Protocol;

namespace Anon.Fuzz;

/// <summary>
/// What each fuzz target does with one input. An input is a script of datagrams: each record is a
/// selector byte, a length byte and that many bytes. A broken invariant throws, which the fuzzer
/// reports as a crash with the input that caused it.
/// </summary>
internal static class Targets
{
    private static readonly PeerAddress[] Sources =
    [
        new PeerAddress(IPAddress.Loopback, 40000),
        new PeerAddress(IPAddress.Loopback, 40001),
        new PeerAddress(IPAddress.Parse("192.0.2.7"), 5000),
        new PeerAddress(IPAddress.IPv6Loopback, 40000),
    ];

    private static readonly byte[] Content = MakeContent(1541);

    /// <summary>The header codec: whatever it reads, it writes back the same defined bits.</summary>
    public static void Header(ReadOnlySpan<byte> input)
    {
        if (!SegmentHeader.TryRead(input, out SegmentHeader header))
        {
            Check(input.Length < SegmentHeader.Size, "a 12-byte datagram was not read");
            return;
        }

        Span<byte> written = stackalloc byte[SegmentHeader.Size];
        header.WriteTo(written);
        Check(written[..8].SequenceEqual(input[..8]), "seq or ack changed in a round trip");
        Check(written[11] == (input[11] & 0b111) && written[8..11].IndexOfAnyExcept((byte)0) < 0, "flags changed in a round trip");
    }

    /// <summary>
    /// The gateway fed datagrams from four sources (one of them performing a real handshake first),
    /// with time advancing. Invariants: no exception; an address without a connection never gets an
    /// answer larger than what it sent; the table stays within its bound.
    /// </summary>
    public static void Gateway(ReadOnlySpan<byte> input)
    {
        var options = new GatewayOptions { MaximumConnections = 2 };
        var gateway = new GatewayEndpoint(Content, new FixedSynCookie(new SequenceNumber(100)), options);
        Span<byte> answer = stackalloc byte[Segments.MaxDatagram];
        TimeSpan now = TimeSpan.FromSeconds(1);
        while (NextRecord(ref input, out byte selector, out ReadOnlySpan<byte> datagram))
        {
            now += TimeSpan.FromMilliseconds(selector >> 2);
            PeerAddress source = Sources[selector & 3];
            bool connected = gateway.HasConnection(source);
            int length = gateway.HandleDatagram(source, datagram, now, answer).AnswerLength;
            Check(length <= datagram.Length || connected || gateway.HasConnection(source), "a stranger got a larger answer");
            Check(gateway.ConnectionCount <= options.MaximumConnections, "the table outgrew its bound");
            if ((selector & 0x80) != 0)
            {
                gateway.HandleTimeout(now);
                while (gateway.PollTransmit(answer, out Transmit transmit))
                {
                    Check(Array.IndexOf(Sources, transmit.Destination) >= 0 && transmit.Length >= SegmentHeader.Size, "a retransmission to an address that never sent");
                }
            }
        }
    }

    /// <summary>
    /// The client after a handshake, fed datagrams from the gateway's address. Invariants: no
    /// exception; an answer is one header or nothing; the content only ever grows by appending.
    /// </summary>
    public static void Client(ReadOnlySpan<byte> input)
    {
        var client = new ClientConnection(new SequenceNumber(5000), TimeSpan.Zero, new ClientOptions { MaximumContentLength = 4096 });
        Span<byte> buffer = stackalloc byte[Segments.MaxDatagram];
        client.PollTransmit(buffer, out _);
        new SegmentHeader(new SequenceNumber(100), new SequenceNumber(5001), SegmentFlags.Syn | SegmentFlags.Ack).WriteTo(buffer);
        client.HandleDatagram(buffer[..SegmentHeader.Size], TimeSpan.Zero, buffer);

        byte[] before = [];
        TimeSpan now = TimeSpan.Zero;
        while (NextRecord(ref input, out byte selector, out ReadOnlySpan<byte> datagram))
        {
            now += TimeSpan.FromMilliseconds(selector);
            int length = client.HandleDatagram(datagram, now, buffer).AnswerLength;
            Check(length is 0 or SegmentHeader.Size, "an answer of an odd size");
            client.HandleTimeout(now);
            byte[] after = client.Content.ToArray();
            Check(after.AsSpan().StartsWith(before), "received content was rewritten");
            Check(after.Length <= 4096, "the content outgrew its bound");
            before = after;
        }
    }

    private static bool NextRecord(ref ReadOnlySpan<byte> input, out byte selector, out ReadOnlySpan<byte> datagram)
    {
        if (input.Length < 2)
        {
            selector = 0;
            datagram = default;
            return false;
        }

        selector = input[0];
        int length = Math.Min(input[1] * 3, input.Length - 2); // up to 765 bytes: past a full segment
        datagram = input.Slice(2, length);
        input = input[(2 + length)..];
        return true;
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"invariant broken: {invariant}");
        }
    }

    private static byte[] MakeContent(int length)
    {
        byte[] content = new byte[length];
        new Random(length).NextBytes(content);
        return content;
    }
}
