namespace Anon.Protocol;

public sealed record GatewayOptions
{
    /// <summary>RTO bounds and how often a segment is sent before the connection is given up.</summary>
    public RetransmissionPolicy Retransmission { get; init; } = RetransmissionPolicy.Default;

    /// <summary>
    /// Open connections the gateway keeps at most. A handshake that would exceed it is refused (the
    /// client's retries may succeed once others finish). Each connection costs a few hundred bytes;
    /// the content itself is shared.
    /// </summary>
    public int MaximumConnections { get; init; } = 4096;

    public static GatewayOptions Default { get; } = new();
}
