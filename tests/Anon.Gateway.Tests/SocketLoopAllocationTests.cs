using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Anon.Gateway.Observability;
using Anon.Gateway.Udp;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Tests;

/// <summary>
/// The gateway's whole datagram path (socket receive with a reused PeerAddress, the core, the
/// packet log, the send) allocates nothing per datagram: serving a page a hundred times longer, the
/// same number of times, allocates no more. Measured process-wide, with a client of raw sockets that
/// allocates nothing itself.
/// </summary>
[Collection(nameof(SocketLoopAllocationTests))] // alone: the measure counts every thread's allocations
public sealed class SocketLoopAllocationTests : IDisposable
{
    private const int Transfers = 20;
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"anon-alloc-{Guid.NewGuid():N}.log");

    [Fact]
    public void Serving_a_page_a_hundred_times_longer_allocates_no_more()
    {
        Measure(new byte[1_000]); // warm-up: JIT, first-use costs
        long small = Measure(new byte[1_000]);     // 2 segments a transfer
        long large = Measure(new byte[100_000]);   // 196 segments a transfer

        // 3,880 more datagrams each way: even 8 bytes apiece would show as 60 KiB.
        Assert.True(large - small < 16 * 1024, $"{small} bytes allocated for short transfers, {large} for long ones");
    }

    public void Dispose() => File.Delete(_log);

    private long Measure(byte[] page)
    {
        using PacketLog log = PacketLog.Open(_log);
        var endpoint = new GatewayEndpoint(page, new FixedSynCookie(new SequenceNumber(100)), new GatewayOptions { NewConnectionsPerSecondPerSource = 0 });
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var server = new GatewayLoop(socket, endpoint, new GatewayReporter(log));
        using var stop = new CancellationTokenSource();
        var loop = new Thread(() => server.Run(stop.Token));
        loop.Start();

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        client.Connect(server.LocalEndPoint);
        byte[] send = new byte[SegmentHeader.Size];
        byte[] receive = new byte[Segments.MaxDatagram];
        Transfer(client, send, receive, 0); // the first connection's own costs out of the figure

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (uint i = 1; i <= Transfers; i++)
        {
            Transfer(client, send, receive, i * 1000);
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        stop.Cancel();
        loop.Join();
        return allocated;
    }

    /// <summary>One transfer, acknowledging every segment; allocates nothing.</summary>
    private static void Transfer(Socket client, byte[] send, byte[] receive, uint isn)
    {
        Write(send, isn, 0, SegmentFlags.Syn);
        client.Send(send);
        client.Receive(receive);
        uint clientSequence = isn + 1;
        Write(send, clientSequence++, 101, SegmentFlags.Ack);
        client.Send(send);
        while (true)
        {
            int length = client.Receive(receive);
            uint sequence = BinaryPrimitives.ReadUInt32BigEndian(receive);
            bool fin = (receive[11] & (byte)SegmentFlags.Fin) != 0;
            Write(send, clientSequence++, sequence + (uint)(length - SegmentHeader.Size), fin ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack);
            client.Send(send);
            if (fin)
            {
                return;
            }
        }
    }

    private static void Write(byte[] buffer, uint sequence, uint acknowledgment, SegmentFlags flags) =>
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(buffer);
}

[CollectionDefinition(nameof(SocketLoopAllocationTests), DisableParallelization = true)]
public sealed class RunsAlone;
