namespace Anon.Protocol;

/// <summary>
/// Readings of the spec that depart from what this project sends but are unambiguous, so they are
/// accepted (RFC 1122 §1.2.2; PROTOCOL.md "What we accept from others"). A connection records which
/// ones its peer used, for the log.
/// </summary>
[Flags]
public enum PeerLeniency : byte
{
    None = 0,

    /// <summary>The gateway's last segment carries FIN without the ACK flag, as the spec's sample draws it.</summary>
    FinWithoutAck = 1 << 0,

    /// <summary>The gateway's data segments carry no ACK flag (the spec's text asks for it).</summary>
    DataWithoutAck = 1 << 1,

    /// <summary>The client's acknowledgment of the FIN counts the FIN as one sequence number, as TCP's does (RFC 9293 §3.4).</summary>
    FinTakesSequenceNumber = 1 << 2,

    /// <summary>The client acknowledged the FIN segment with a plain ACK before its ACK|FIN (or its FIN).</summary>
    PlainAckBeforeFin = 1 << 3,

    /// <summary>The client closed with a FIN without the ACK flag, after a plain ACK of the last segment.</summary>
    ClosedWithBareFin = 1 << 4,
}
