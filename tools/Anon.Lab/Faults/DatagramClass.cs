namespace Anon.Lab.Faults;

/// <summary>Which way a datagram goes between a client and a gateway.</summary>
public enum Way
{
    ToGateway,
    ToClient,
}

/// <summary>What a datagram is in its connection, as a network between the two ends could tell from the headers.</summary>
public enum DatagramKind
{
    /// <summary>The client's SYN (a SYN without ACK or FIN).</summary>
    Syn,

    /// <summary>The gateway's SYN|ACK.</summary>
    SynAck,

    /// <summary>The client's pure ACK of the gateway's ISN + 1: the third packet of the handshake, or a copy of it.</summary>
    HandshakeAck,

    /// <summary>A segment of the gateway's: data, FIN, or both.</summary>
    Segment,

    /// <summary>The client's pure ACK of a segment's end.</summary>
    AckOfSegment,

    /// <summary>The client's datagram with FIN: its ACK|FIN (or FIN) that closes.</summary>
    FinAck,

    /// <summary>Anything else: a stale or odd acknowledgment, a stranger's datagram, a runt.</summary>
    Other,
}

/// <summary>
/// One datagram as a fault sees it: its way, its kind, the segment it carries or acknowledges (0 =
/// the first; -1 for the handshake and <see cref="DatagramKind.Other"/>), and which copy of that
/// datagram it is (1 = the first sent, 2 = the first retransmission or duplicate, ...).
/// </summary>
public readonly record struct DatagramClass(Way Way, DatagramKind Kind, int Segment, int Copy);
