namespace Anon.Protocol;

public sealed record ClientOptions
{
    /// <summary>RTO bounds for the SYN and the handshake ACK, the two packets the client sends again.</summary>
    public RetransmissionPolicy Retransmission { get; init; } = RetransmissionPolicy.Default;

    /// <summary>
    /// Give up when nothing from the gateway arrives for this long. Longer than the gateway's
    /// backed-off RTO cap, so one silent gap of the gateway's retries does not end a transfer.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the first segment may take after the handshake ACK before the client starts a new
    /// handshake with a new ISN. A gateway that answered the SYN and then died, and came back with
    /// a new SYN-cookie key, takes the old handshake ACK for nothing and never sends data; a live
    /// gateway sends its first segment at once and again at each of its own timeouts, so this much
    /// silence means the handshake is lost. The new handshake runs within the same
    /// <see cref="IdleTimeout"/>, counted from the first handshake's SYN|ACK.
    /// </summary>
    public TimeSpan HandshakeFallback { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long to stay after sending ACK|FIN, answering a retransmitted FIN again: TCP's TIME-WAIT
    /// (RFC 9293 §3.6.1), and TFTP's "dally" after its last ACK (RFC 1350 §6). A lost ACK|FIN costs
    /// no data, but without it the gateway counts a transfer the device completed as given up. The
    /// client writes the file and switches the LED first, so no one waits for this; it covers at
    /// least two of the gateway's retransmissions at its 250 ms RTO cap (PROTOCOL.md "Close" has
    /// the figures that chose it).
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Content larger than this is refused, so a broken gateway cannot exhaust the device's memory.</summary>
    public int MaximumContentLength { get; init; } = 16 * 1024 * 1024;

    public static ClientOptions Default { get; } = new();
}
