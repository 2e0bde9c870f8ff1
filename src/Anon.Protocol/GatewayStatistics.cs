namespace Anon.Protocol;

/// <summary>
/// Running totals of what the gateway's core saw and did. Plain fields, written and read only by the
/// thread that drives the core (other threads get a snapshot the loop takes).
/// </summary>
#pragma warning disable CA1051 // Counters are plain fields so the hot path increments them without calls.
public sealed class GatewayStatistics
{
    public long DatagramsReceived;
    public long DatagramsSent;
    public long PayloadBytesSent;

    /// <summary>Headers with reserved flag bits set (ignored, as TCP ignores its reserved bits).</summary>
    public long ReservedBitsSet;

    /// <summary>Acknowledgments of data that was acknowledged before; never answered (RFC 1123 §4.2.3.1).</summary>
    public long DuplicateAcks;

    /// <summary>The dropped datagrams by reason.</summary>
    public DropCounters Drops { get; } = new();

    /// <summary>Datagrams shorter than the 12-byte header.</summary>
    public long Runts => Drops[DropReason.TooShort];

    /// <summary>Client datagrams that carried a payload, dropped: clients send headers only.</summary>
    public long UnexpectedPayloads => Drops[DropReason.ClientPayload];

    /// <summary>Datagrams that fit no connection and no handshake: unknown peer, bad cookie, odd flags.</summary>
    public long Unmatched => Drops[DropReason.NoConnection] + Drops[DropReason.UnexpectedFlags];

    /// <summary>Acknowledgments from a connection's peer that acknowledge nothing sent, bare FINs included.</summary>
    public long InvalidAcks => Drops[DropReason.AckOutOfRange] + Drops[DropReason.FinWithoutAck];

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
    /// <summary>Valid handshakes refused because the connection table was full.</summary>
    public long ConnectionsRefused => Drops[DropReason.TableFull];

    /// <summary>Valid handshakes refused because their source opened too many connections too fast.</summary>
    public long ConnectionsRateLimited => Drops[DropReason.RateLimited];
    public long Retransmissions;

    /// <summary>Every datagram dropped: too short, with a payload, unmatched, invalid acknowledgments, refused or rate-limited handshakes.</summary>
    public long DatagramsDropped => Drops.Total;
}
