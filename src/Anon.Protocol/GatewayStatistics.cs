namespace Anon.Protocol;

/// <summary>
/// Running totals of what the gateway's core saw and did, as quinn's <c>ConnectionStats</c>: one
/// value of named fields, copied whole (<see cref="GatewayEndpoint.Statistics"/> returns a copy, so a
/// snapshot cannot change under its reader, nor its reader change the core's).
/// </summary>
/// <remarks>
/// A new counter is a field here, its increment in the core, and its instrument in the gateway's
/// <c>GatewayMetrics</c>, which the status page's <c>/metrics</c> exposes: three files.
/// </remarks>
#pragma warning disable CA1051 // Counters are plain fields so the hot path increments them without calls.
public struct GatewayStatistics
{
    public long DatagramsReceived;
    public long DatagramsSent;
    public long PayloadBytesSent;

    /// <summary>Headers with reserved flag bits set (ignored, as TCP ignores its reserved bits).</summary>
    public long ReservedBitsSet;

    /// <summary>Acknowledgments of data that was acknowledged before; never answered (RFC 1123 §4.2.3.1).</summary>
    public long DuplicateAcks;

    /// <summary>The dropped datagrams by reason: too short, with a payload, unmatched, invalid acknowledgments, handshakes refused...</summary>
    public DropCounts Drops;

    public long SynsAnswered;
    public long ConnectionsOpened;
    public long ConnectionsCompleted;

    /// <summary>Connections given up before their last segment was sent: the client cannot have the page.</summary>
    public long ConnectionsTimedOut;

    /// <summary>
    /// Connections given up with every byte sent and the FIN unanswered (<see cref="GatewayEventKind.CloseUnconfirmed"/>):
    /// the client may have the page and have left before its ACK|FIN got through.
    /// </summary>
    public long ClosesUnconfirmed;
    public long ConnectionsReplaced;
    public long Retransmissions;

    /// <summary>Every datagram dropped, whatever the reason.</summary>
    public readonly long DatagramsDropped => Drops.Total;
}
#pragma warning restore CA1051
