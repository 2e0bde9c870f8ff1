namespace Anon.Protocol;

public enum GatewayEventKind
{
    /// <summary>A client completed the handshake; its first segment is on its way.</summary>
    Opened,

    /// <summary>The client acknowledged the FIN with FIN|ACK: every byte arrived.</summary>
    Completed,

    /// <summary>A segment before the last went unacknowledged through every retransmission; the connection is dropped.</summary>
    TimedOut,

    /// <summary>
    /// The last segment, which carries the FIN, went unanswered through every retransmission, or the
    /// client acknowledged every byte and never sent its FIN: the client may well have the page (its
    /// ACK|FIN was lost and it had left); the connection is dropped.
    /// </summary>
    CloseUnconfirmed,

    /// <summary>The same address and port completed a new handshake (the client restarted); the old connection is dropped.</summary>
    Replaced,

    /// <summary>
    /// A datagram from the connection's client was dropped for a reason not met before on this
    /// connection (<see cref="GatewayEvent.DropReason"/>); later ones for the same reason are only counted.
    /// </summary>
    NewDropReason,
}

/// <summary>Something that happened to a connection, for the log and the counters.</summary>
/// <param name="Peer">The client's address.</param>
/// <param name="Elapsed">Time since the connection opened.</param>
/// <param name="BytesAcknowledged">Content bytes the client has acknowledged.</param>
/// <param name="Retransmissions">Segments sent again on this connection.</param>
/// <param name="DropReason">Why the datagram was dropped, for <see cref="GatewayEventKind.NewDropReason"/>.</param>
/// <param name="Leniencies">The departures from our wire the client used and that were accepted, so far.</param>
public readonly record struct GatewayEvent(
    GatewayEventKind Kind,
    PeerAddress Peer,
    TimeSpan Elapsed,
    int BytesAcknowledged,
    int Retransmissions,
    DropReason DropReason = DropReason.None,
    PeerLeniency Leniencies = PeerLeniency.None);
