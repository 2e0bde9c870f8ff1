using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>
/// Memory per open connection: opens many connections to a gateway (a handshake each, from a port
/// of its own) and then acknowledges nothing, so that every one stays open, and compares the
/// gateway's resident memory before and after.
/// </summary>
internal static class OpenConnections
{
    /// <param name="status">The gateway's /status.json, which says how many connections it holds.</param>
    public static async Task<string> MeasureAsync(IPEndPoint gateway, int processId, int count, Uri status)
    {
        long before = ResidentKiB(processId);
        var sockets = new List<Socket>(count);
        try
        {
            byte[] datagram = new byte[Segments.MaxDatagram];
            for (int i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 2000 };
                sockets.Add(socket);
                socket.Connect(gateway);
                uint isn = (uint)i * 7919;
                Write(datagram, isn, 0, SegmentFlags.Syn);
                socket.Send(datagram.AsSpan(0, SegmentHeader.Size));
                socket.Receive(datagram); // SYN|ACK
                uint gatewayIsn = BinaryPrimitives.ReadUInt32BigEndian(datagram);
                Write(datagram, isn + 1, gatewayIsn + 1, SegmentFlags.Ack);
                socket.Send(datagram.AsSpan(0, SegmentHeader.Size)); // the connection is open from here
            }

            await Task.Delay(1500).ConfigureAwait(false); // the gateway has handled the last handshakes and posted its figures
            long after = ResidentKiB(processId);
            using var http = new HttpClient();
            using var json = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(status).ConfigureAwait(false));
            int open = json.RootElement.GetProperty("traffic").GetProperty("openConnections").GetInt32();
            return string.Create(CultureInfo.InvariantCulture,
                $"{count} handshakes, {open} connections open (the gateway's count): gateway RSS {before / 1024.0:0.0} MiB before, {after / 1024.0:0.0} MiB after, {(after - before) * 1024.0 / open:0} bytes per open connection");
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private static void Write(byte[] datagram, uint sequence, uint acknowledgment, SegmentFlags flags) =>
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(datagram);

    private static long ResidentKiB(int processId)
    {
        string line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
