namespace Anon.Protocol;

/// <summary>
/// Running totals of what the gateway's core saw and did. Plain fields, written only by the thread
/// that drives the core; readers on other threads may see slightly stale values.
/// </summary>
#pragma warning disable CA1051 // Counters are plain fields so the hot path increments them without calls.
public sealed class GatewayStatistics
{
    public long DatagramsReceived;
    public long DatagramsSent;
    public long PayloadBytesSent;

    /// <summary>Datagrams shorter than the 12-byte header.</summary>
    public long Runts;

    /// <summary>Headers with reserved flag bits set (ignored, as TCP ignores its reserved bits).</summary>
    public long ReservedBitsSet;

    /// <summary>Client datagrams that carried a payload, dropped: clients send headers only.</summary>
    public long UnexpectedPayloads;

    /// <summary>Datagrams that fit no connection and no handshake: unknown peer, bad cookie, odd flags.</summary>
    public long Unmatched;

    /// <summary>Acknowledgments of data that was acknowledged before; never answered (RFC 1123 §4.2.3.1).</summary>
    public long DuplicateAcks;

    /// <summary>Acknowledgments of bytes never sent.</summary>
    public long InvalidAcks;

    public long SynsAnswered;
    public long ConnectionsOpened;
    public long ConnectionsCompleted;
    public long ConnectionsTimedOut;
    public long ConnectionsReplaced;
    /// <summary>Valid handshakes refused because the connection table was full.</summary>
    public long ConnectionsRefused;

    /// <summary>Valid handshakes refused because their source opened too many connections too fast.</summary>
    public long ConnectionsRateLimited;
    public long Retransmissions;

    /// <summary>Every datagram dropped: too short, with a payload, unmatched, invalid acknowledgments, refused or rate-limited handshakes.</summary>
    public long DatagramsDropped => Runts + UnexpectedPayloads + Unmatched + InvalidAcks + ConnectionsRefused + ConnectionsRateLimited;
}
