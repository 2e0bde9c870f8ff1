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

    /// <summary>
    /// New connections one source address may open per second, sustained, or 0 for no limit. A
    /// device opens one per fetch; this keeps one host from filling the table. 100 by default.
    /// </summary>
    public double NewConnectionsPerSecondPerSource { get; init; } = 100;

    /// <summary>New connections one source address may open at once after a quiet spell: twice the rate.</summary>
    public int NewConnectionBurstPerSource => (int)Math.Ceiling(2 * NewConnectionsPerSecondPerSource);

    public static GatewayOptions Default { get; } = new();
}
