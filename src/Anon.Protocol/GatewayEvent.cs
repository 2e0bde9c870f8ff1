using System.Net;

namespace Anon.Protocol;

public enum GatewayEventKind
{
    /// <summary>A client completed the handshake; its first segment is on its way.</summary>
    Opened,

    /// <summary>The client acknowledged the FIN with FIN|ACK: every byte arrived.</summary>
    Completed,

    /// <summary>A segment went unacknowledged through every retransmission; the connection is dropped.</summary>
    TimedOut,

    /// <summary>The same address and port completed a new handshake (the client restarted); the old connection is dropped.</summary>
    Replaced,
}

/// <summary>Something that happened to a connection, for the log and the counters.</summary>
/// <param name="Peer">The client's address; owned by the event, safe to keep.</param>
/// <param name="Elapsed">Time since the connection opened.</param>
/// <param name="BytesAcknowledged">Content bytes the client has acknowledged.</param>
/// <param name="Retransmissions">Segments sent again on this connection.</param>
public readonly record struct GatewayEvent(
    GatewayEventKind Kind,
    SocketAddress Peer,
    TimeSpan Elapsed,
    int BytesAcknowledged,
    int Retransmissions);
