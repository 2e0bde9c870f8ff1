namespace Anon.Protocol;

/// <summary>
/// Why a datagram was dropped: one name per thing not taken (PROTOCOL.md "What we accept from others").
/// Each is counted; a drop on an open connection is also reported once per reason and connection, so that
/// whoever runs the peer learns which of its habits this side does not take.
/// </summary>
/// <remarks>The words for people live at the edge; the core only names the reason.</remarks>
public enum DropReason : byte
{
    /// <summary>Not dropped.</summary>
    None = 0,

    // Either side.

    /// <summary>Shorter than the 12-byte header.</summary>
    TooShort,

    /// <summary>A combination of flags this side never takes (SYN|FIN, SYN|ACK to a gateway, none at all...).</summary>
    UnexpectedFlags,

    // The gateway.

    /// <summary>A client datagram with a payload: clients send headers only.</summary>
    ClientPayload,

    /// <summary>No connection from that address, and not a handshake ACK that echoes a valid cookie.</summary>
    NoConnection,

    /// <summary>An acknowledgment of bytes never sent, or of less than the handshake (RFC 9293 §3.10.7.4).</summary>
    AckOutOfRange,

    /// <summary>A FIN without the ACK flag before the end of the content was acknowledged: it acknowledges nothing.</summary>
    FinWithoutAck,

    /// <summary>A valid handshake while the connection table is full; the client's retries try again.</summary>
    TableFull,

    /// <summary>A valid handshake from a source that opens connections too fast.</summary>
    RateLimited,

    /// <summary>
    /// A SYN while the gateway is stopping (<see cref="GatewayEndpoint.StopAccepting"/>): unanswered,
    /// so the client's retry reaches whichever gateway serves next.
    /// </summary>
    Draining,

    // The client.

    /// <summary>Anything after the transfer ended (completed or failed).</summary>
    TransferEnded,

    /// <summary>A SYN|ACK whose ack is not our ISN + 1: it answers no SYN of ours.</summary>
    SynAckWrongAck,

    /// <summary>A SYN|ACK that carries a payload: data before the handshake completed.</summary>
    SynAckPayload,

    /// <summary>A SYN|ACK with another gateway ISN than the one taken: stale or forged.</summary>
    SynAckOtherIsn,

    /// <summary>A data segment before the SYN|ACK.</summary>
    DataBeforeHandshake,

    /// <summary>A payload longer than 512 bytes.</summary>
    Oversize,

    /// <summary>A segment that does not start at the next expected byte (ahead, or overlapping it).</summary>
    OutOfOrder,

    /// <summary>An empty segment without FIN: it carries nothing to acknowledge.</summary>
    EmptyWithoutFin,

    /// <summary>New data after the FIN.</summary>
    DataAfterFin,
}
