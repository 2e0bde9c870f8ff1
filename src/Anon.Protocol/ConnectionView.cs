namespace Anon.Protocol;

/// <summary>One open connection as a status page shows it (<see cref="GatewayEndpoint.CopyConnections"/>).</summary>
/// <param name="Peer">The client's address.</param>
/// <param name="OpenedAt">When the handshake completed, on the endpoint's clock.</param>
/// <param name="BytesAcknowledged">Content the client has acknowledged so far.</param>
/// <param name="ContentLength">The whole content this connection serves.</param>
/// <param name="Retransmissions">Segments sent again on this connection.</param>
/// <param name="SmoothedRoundTrip">SRTT (RFC 6298 §2), once the connection has a sample.</param>
public readonly record struct ConnectionView(
    PeerAddress Peer, TimeSpan OpenedAt, int BytesAcknowledged, int ContentLength, int Retransmissions, TimeSpan? SmoothedRoundTrip);
