using System.Net.Sockets;

namespace Anon.Io.Tests;

public sealed class SteppedReceiveTimeoutTests
{
    [Theory]
    [InlineData(10_000, 200)]
    [InlineData(200, 200)]
    [InlineData(150, 100)]
    [InlineData(25, 20)]
    [InlineData(1.5, 1)]
    [InlineData(0.2, 1)] // the shortest the option can say
    public void The_socket_waits_the_longest_step_not_longer_than_asked(double waitMilliseconds, int expected)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        new SteppedReceiveTimeout(socket).Set(TimeSpan.FromMilliseconds(waitMilliseconds));

        Assert.Equal(expected, socket.ReceiveTimeout);
    }

    [Fact]
    public void A_blocking_receive_returns_after_the_step_and_within_the_wait_asked_for()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        new SteppedReceiveTimeout(socket).Set(TimeSpan.FromMilliseconds(30)); // 20 ms

        // The quickest of five receives: a busy machine can only delay a wake-up, so the minimum
        // shows the timeout itself. It must come after the 20 ms step and within the 30 ms asked for.
        double quickest = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            socket.Receive(new byte[16], SocketFlags.None, out SocketError error);
            quickest = Math.Min(quickest, clock.Elapsed.TotalMilliseconds);
            Assert.True(error is SocketError.TimedOut or SocketError.WouldBlock, $"{error}");
        }

        Assert.InRange(quickest, 19, 30);
    }
}
