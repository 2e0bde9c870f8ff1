using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Anon.LoadGenerator;

/// <summary>
/// The network's floor for one transfer: 28 round trips of a 12-byte datagram answered by a
/// 524-byte one (a header and a full segment), over loopback, between two threads with blocking
/// sockets. A transfer of the 13,112-byte page needs 28 such exchanges: handshake, 26 segments, FIN.
/// </summary>
internal static class PingPong
{
    public const int RoundTrips = 28;

    /// <summary>Times <paramref name="runs"/> sets of <see cref="RoundTrips"/> round trips; returns each set's milliseconds, sorted.</summary>
    public static double[] Measure(int runs)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint!);
        int total = (runs + 1) * RoundTrips; // one set of warm-up
        var echo = new Thread(() =>
        {
            byte[] request = new byte[64];
            byte[] reply = new byte[524];
            var from = new SocketAddress(AddressFamily.InterNetwork);
            for (int i = 0; i < total; i++)
            {
                server.ReceiveFrom(request, SocketFlags.None, from);
                server.SendTo(reply, SocketFlags.None, from);
            }
        }) { IsBackground = true };
        echo.Start();

        byte[] ping = new byte[12];
        byte[] pong = new byte[600];
        var times = new double[runs];
        for (int run = -1; run < runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < RoundTrips; i++)
            {
                client.Send(ping);
                client.Receive(pong);
            }

            if (run >= 0)
            {
                times[run] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        echo.Join();
        Array.Sort(times);
        return times;
    }
}
