using System.Net.Sockets;

namespace Anon.Io;

/// <summary>
/// A socket's receive timeout (<c>SO_RCVTIMEO</c>) set to the longest of a few steps not longer
/// than the wait asked for (1 ms for anything shorter), for loops whose wait is the receive itself.
/// A few steps, so that the option is set now and then rather than before every receive: the next
/// deadline is mostly a retransmission timer's, tens of milliseconds away, whose step holds.
/// </summary>
public sealed class SteppedReceiveTimeout(Socket socket)
{
    private static readonly int[] StepsInMilliseconds = [200, 100, 50, 20, 10, 5, 2, 1];

    private int _milliseconds = -1;

    /// <summary>Makes the next blocking receive return after about <paramref name="wait"/> at most.</summary>
    public void Set(TimeSpan wait)
    {
        int step = 1;
        foreach (int milliseconds in StepsInMilliseconds)
        {
            if (milliseconds <= wait.TotalMilliseconds)
            {
                step = milliseconds;
                break;
            }
        }

        if (step != _milliseconds)
        {
            socket.ReceiveTimeout = step;
            _milliseconds = step;
        }
    }
}
