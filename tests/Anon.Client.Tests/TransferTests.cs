using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Anon.Client.Fetching;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client.Tests;

/// <summary>The client's socket loop against a gateway core driven by the test over a real UDP socket.</summary>
public sealed class TransferTests : IDisposable
{
    private readonly string _logPath = Path.Combine(Path.GetTempPath(), $"anon-client-{Guid.NewGuid():N}.log");

    [Fact]
    public async Task A_datagram_longer_than_any_segment_is_dropped_and_the_transfer_still_completes()
    {
        byte[] page = [.. "COMMAND=LIGHTON\n"u8, .. Enumerable.Repeat((byte)'.', 1000)];
        using var gatewaySocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        gatewaySocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        gatewaySocket.ReceiveTimeout = 200;
        var gateway = new GatewayEndpoint(page, new FixedSynCookie(new SequenceNumber(100)));
        using PacketLog log = PacketLog.Open(_logPath, flushing: LogFlushing.OnWrite);
        var gatewayAddress = (IPEndPoint)gatewaySocket.LocalEndPoint!;
        Task<byte[]> client = Task.Run(() =>
        {
            using PageFetch transfer = PageFetch.Run(gatewayAddress, ClientOptions.Default, log, initialSequence: 1, CancellationToken.None);
            return transfer.Content.ToArray();
        });

        // The gateway's side: the core answers each datagram; just before its first segment goes
        // out, the same header with 1,000 bytes of payload goes first, longer than the client's
        // receive buffer and than any segment.
        var clock = Stopwatch.StartNew();
        byte[] received = new byte[2048];
        byte[] answer = new byte[Segments.MaxDatagram];
        var peer = new SocketAddress(AddressFamily.InterNetwork);
        bool injected = false;
        while (!client.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            int length;
            try
            {
                length = gatewaySocket.ReceiveFrom(received, SocketFlags.None, peer);
            }
            catch (SocketException)
            {
                continue; // the receive timeout: look at the client again
            }

            int answerLength = gateway.HandleDatagram(SocketAddresses.Read(peer), received.AsSpan(0, length), clock.Elapsed, answer).AnswerLength;
            if (answerLength > SegmentHeader.Size && !injected)
            {
                byte[] oversize = new byte[SegmentHeader.Size + 1000];
                answer.AsSpan(0, SegmentHeader.Size).CopyTo(oversize);
                oversize.AsSpan(SegmentHeader.Size).Fill((byte)'X');
                gatewaySocket.SendTo(oversize, SocketFlags.None, peer);
                injected = true;
            }

            if (answerLength > 0)
            {
                gatewaySocket.SendTo(answer.AsSpan(0, answerLength), SocketFlags.None, peer);
            }
        }

        Assert.True(injected);
        Assert.Equal(page, await client.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    public void Dispose() => File.Delete(_logPath);
}
