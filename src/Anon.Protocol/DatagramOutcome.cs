namespace Anon.Protocol;

/// <summary>
/// What <see cref="GatewayEndpoint.HandleDatagram"/> made of one datagram (as quinn's
/// <c>Endpoint::handle</c> returns a <c>DatagramEvent</c>): the header read, the answer written,
/// whether the datagram belongs to a connection, and why it was dropped if it was. The caller logs
/// and sends from it without reading either datagram again.
/// </summary>
public readonly record struct DatagramOutcome
{
    /// <summary>The header of the datagram handled; null when it was shorter than a header.</summary>
    public SegmentHeader? Received { get; init; }

    /// <summary>The answer's length, header included, to be sent to the datagram's source; 0 for none.</summary>
    public int AnswerLength { get; init; }

    /// <summary>The answer's header, when <see cref="AnswerLength"/> is not 0.</summary>
    public SegmentHeader Answer { get; init; }

    /// <summary>
    /// True when the source had an open connection or opened one with this datagram: traffic the
    /// log always shows, where anything else (SYNs, strangers) may be rate-limited.
    /// </summary>
    public bool OfConnection { get; init; }

    /// <summary>Why the datagram was dropped; <see cref="DropReason.None"/> when it was not.</summary>
    public DropReason Dropped { get; init; }

    public bool HasAnswer => AnswerLength > 0;
}

/// <summary>A datagram the endpoint wrote on its own (a retransmission), with where it goes: <see cref="GatewayEndpoint.PollTransmit"/>.</summary>
/// <param name="Destination">The client it is for.</param>
/// <param name="Header">Its header, for the log.</param>
/// <param name="Length">Its length, header included.</param>
public readonly record struct Transmit(PeerAddress Destination, SegmentHeader Header, int Length);

/// <summary>
/// What <see cref="ClientConnection.HandleDatagram"/> made of one datagram, as
/// <see cref="DatagramOutcome"/> is for the gateway: the header read, the answer written, and why
/// the datagram was dropped if it was. The client's loop logs and sends from it.
/// </summary>
public readonly record struct ClientDatagramOutcome
{
    /// <summary>The header of the datagram handled; null when it was shorter than a header.</summary>
    public SegmentHeader? Received { get; init; }

    /// <summary>The answer's length, header included; 0 for none.</summary>
    public int AnswerLength { get; init; }

    /// <summary>Why the datagram was dropped; <see cref="DropReason.None"/> when it was not.</summary>
    public DropReason Dropped { get; init; }

    public bool HasAnswer => AnswerLength > 0;
}
