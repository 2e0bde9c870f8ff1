using Anon.Client.Delivery;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>The client's words for what its parts report as values: the LED's state and a transfer's figures.</summary>
internal static class ClientWords
{
    /// <summary>"ON" or "OFF", as the state file holds it.</summary>
    public static string OnOff(LedState state) => state.IsOn ? "ON" : "OFF";

    /// <summary>"LED is ON (simulated)", "LED is OFF (GPIO pin 17, active low)".</summary>
    public static string Led(LedState state)
    {
        string which = state.GpioPin is { } pin ? $"GPIO pin {pin}{(state.ActiveLow ? ", active low" : "")}" : "simulated";
        return $"LED is {OnOff(state)} ({which})";
    }

    /// <summary>The output file already held the page fetched, so it was only flushed to disk (<see cref="OutputFile.Commit"/>).</summary>
    public static string AlreadyHeld(int length, string path) => $"{path} holds these {length} bytes already: not written again";

    /// <summary>What an ICMP port unreachable from the gateway's host means.</summary>
    public const string NothingListens = "the gateway's host answered that nothing listens on that port";

    /// <summary>The log's line when a handshake that brought no data is abandoned for a new one.</summary>
    public const string NewHandshake =
        "the gateway answered the handshake, then sent no data or went away (it may have restarted): starting a new handshake with a new ISN " +
        "(logged once a transfer; counted in the last line)";

    /// <summary>
    /// The one-shot client's line when the socket first reports an error: that it keeps trying, why,
    /// and for how long.
    /// </summary>
    public static string Retrying(System.Net.IPEndPoint gateway, System.Net.Sockets.SocketError error, TimeSpan idleTimeout)
    {
        string what = error switch
        {
            System.Net.Sockets.SocketError.ConnectionRefused => NothingListens + " (yet)",
            System.Net.Sockets.SocketError.NetworkUnreachable => "there is no route to the gateway's address (yet)",
            _ => $"the network reported {error}",
        };
        return $"anonclient: {gateway}: {what}; retrying until nothing has come for {idleTimeout.TotalSeconds:0.###} s (--timeout; --fail-on-refusal gives up at once)";
    }

    /// <summary>The completed transfer's line: its size, time, handshake round trip and what went wrong on the way.</summary>
    public static string Received(ClientConnection connection, TimeSpan elapsed)
    {
        ClientStatistics statistics = connection.Statistics;
        return $"received {connection.Content.Length} bytes in {elapsed.TotalMilliseconds:0.000} ms " +
            $"(handshake round trip {statistics.HandshakeRoundTripTime?.TotalMilliseconds:0.000} ms, " +
            $"{statistics.Retransmissions} retransmissions, {statistics.DuplicateSegments} duplicate segments, {statistics.Dropped} dropped" +
            (statistics.NewHandshakes == 0 ? ")" : $", {statistics.NewHandshakes} new handshakes)") +
            (statistics.Leniencies == PeerLeniency.None ? "" : $"; accepted from this gateway: {PeerWords.Describe(statistics.Leniencies)}");
    }
}
