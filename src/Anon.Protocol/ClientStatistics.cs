namespace Anon.Protocol;

/// <summary>Running totals of the client's core: a value, copied whole, as <see cref="GatewayStatistics"/>.</summary>
#pragma warning disable CA1051 // Counters are plain fields so the hot path increments them without calls.
public struct ClientStatistics
{
    public long DatagramsReceived;
    public long DatagramsSent;
    public long PayloadBytesReceived;

    /// <summary>SYNs and handshake ACKs sent again on timeout.</summary>
    public long Retransmissions;

    /// <summary>
    /// Handshakes started again with a new ISN because the first segment never came after a
    /// SYN|ACK (<see cref="ClientOptions.HandshakeFallback"/>).
    /// </summary>
    public long NewHandshakes;

    /// <summary>Segments received again (their acknowledgment was lost); answered, never appended.</summary>
    public long DuplicateSegments;

    /// <summary>Datagrams that fit nothing expected: runts, odd flags, wrong ack, segments ahead of the expected one.</summary>
    public readonly long Dropped => Drops.Total;

    /// <summary>The dropped datagrams by reason.</summary>
    public DropCounts Drops;

    /// <summary>The departures from this project's wire that the gateway used and that were accepted.</summary>
    public PeerLeniency Leniencies;

    /// <summary>Time from the first SYN to the SYN|ACK that completed the handshake, if it was measured.</summary>
    public TimeSpan? HandshakeRoundTripTime;
}
#pragma warning restore CA1051
