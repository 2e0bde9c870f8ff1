using System.Net;
using System.Net.Sockets;
using Anon.Gateway.Udp;

namespace Anon.Gateway.Tests;

/// <summary>
/// Both ways of taking datagrams in batches, recvmmsg/sendmmsg on Linux and the portable socket
/// calls, over real loopback sockets: every datagram arrives whole with its sender, and every
/// answer reaches the sender it was queued for.
/// </summary>
public sealed class DatagramBatchTests
{
    public static TheoryData<string, AddressFamily> Batches => new()
    {
        { "portable", AddressFamily.InterNetwork },
        { "portable", AddressFamily.InterNetworkV6 },
        { "mmsg", AddressFamily.InterNetwork },
        { "mmsg", AddressFamily.InterNetworkV6 },
    };

    [SkippableTheory]
    [MemberData(nameof(Batches))]
    public void Datagrams_arrive_whole_with_their_senders_and_answers_go_back_to_them(string kind, AddressFamily family)
    {
        Skip.If(kind == "mmsg" && !OperatingSystem.IsLinux(), "recvmmsg is Linux's; the portable batch is what runs elsewhere");

        IPAddress loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        using var server = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(loopback, 0));
        DatagramBatch batch = kind == "mmsg" ? new MultiMessageBatch(server) : new SocketBatch(server);
        Socket[] clients = [.. Enumerable.Range(0, 3).Select(_ => new Socket(family, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 })];
        try
        {
            // 3 clients x 30 datagrams: more than one batch, sizes from a bare header to more than a slot.
            var sent = new Dictionary<string, List<byte[]>>();
            foreach (Socket client in clients)
            {
                client.Connect(server.LocalEndPoint!);
                sent[client.LocalEndPoint!.ToString()!] = [];
            }

            for (int i = 0; i < 30; i++)
            {
                foreach (Socket client in clients)
                {
                    byte[] datagram = new byte[i == 29 ? 3000 : 12 + (i * 17)];
                    Random.Shared.NextBytes(datagram);
                    client.Send(datagram);
                    sent[client.LocalEndPoint!.ToString()!].Add(datagram);
                }
            }

            var received = sent.Keys.ToDictionary(key => key, _ => new List<byte[]>());
            for (int round = 0; round < 100 && received.Values.Sum(list => list.Count) < 90; round++)
            {
                int count = batch.Receive(TimeSpan.FromSeconds(1));
                Assert.InRange(count, 0, DatagramBatch.Capacity);
                for (int i = 0; i < count; i++)
                {
                    string sender = batch.Source(i).ToString();
                    received[sender].Add(batch.Datagram(i).ToArray());

                    // The answer: the datagram's first byte and its length, to its sender.
                    Span<byte> answer = batch.NextOutgoing;
                    answer[0] = batch.Datagram(i)[0];
                    BitConverter.TryWriteBytes(answer[1..], batch.Datagram(i).Length);
                    batch.QueueOutgoing(5, batch.Source(i));
                }

                Assert.Equal(0, batch.Flush());
            }

            foreach (Socket client in clients)
            {
                string key = client.LocalEndPoint!.ToString()!;
                List<byte[]> expected = sent[key];
                Assert.Equal(expected.Count, received[key].Count);
                byte[] reply = new byte[16];
                for (int i = 0; i < expected.Count; i++)
                {
                    // A datagram longer than a slot is cut to it: the gateway drops any payload from a client anyway.
                    Assert.Equal(expected[i].AsSpan(0, Math.Min(expected[i].Length, 2048)).ToArray(), received[key][i]);
                    Assert.Equal(5, client.Receive(reply));
                    Assert.Equal(expected[i][0], reply[0]);
                    Assert.Equal(Math.Min(expected[i].Length, 2048), BitConverter.ToInt32(reply, 1));
                }
            }
        }
        finally
        {
            foreach (Socket client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public void Nothing_waiting_is_an_empty_batch_once_the_wait_runs_out()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        DatagramBatch batch = DatagramBatch.Create(server);

        Assert.Equal(0, batch.Receive(TimeSpan.Zero));
        Assert.Equal(0, batch.Receive(TimeSpan.FromMilliseconds(30)));
        Assert.Equal(0, batch.Flush());
    }
}
