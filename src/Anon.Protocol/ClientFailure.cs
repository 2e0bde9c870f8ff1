namespace Anon.Protocol;

/// <summary>How a client's transfer failed (<see cref="ClientConnection.Failure"/>).</summary>
public enum ClientFailureKind
{
    /// <summary>No SYN|ACK within the idle timeout: nothing answers at that address and port.</summary>
    NoAnswer,

    /// <summary>The handshake completed, then no data came within the idle timeout.</summary>
    NoData,

    /// <summary>Data came, then stopped for the idle timeout.</summary>
    Stalled,

    /// <summary>The gateway sent more than the most this client takes.</summary>
    ContentTooLong,
}

/// <summary>Why a transfer failed, with the figures that explain it; the core names it, the edge words it.</summary>
/// <param name="IdleTimeout">The silence that ended it (<see cref="ClientOptions.IdleTimeout"/>).</param>
/// <param name="BytesReceived">Content received before it failed.</param>
/// <param name="MaximumContentLength">The most this client takes (<see cref="ClientOptions.MaximumContentLength"/>).</param>
public readonly record struct ClientFailure(ClientFailureKind Kind, TimeSpan IdleTimeout, int BytesReceived, int MaximumContentLength);
