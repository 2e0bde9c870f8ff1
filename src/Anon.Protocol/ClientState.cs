namespace Anon.Protocol;

public enum ClientState
{
    /// <summary>SYN sent, waiting for SYN|ACK.</summary>
    SynSent,

    /// <summary>Handshake ACK sent, waiting for the first segment.</summary>
    Established,

    /// <summary>At least one segment received, more to come.</summary>
    Receiving,

    /// <summary>The FIN arrived and ACK|FIN went out: the content is complete. Lingering, if configured.</summary>
    Finished,

    /// <summary>Finished and done lingering.</summary>
    Closed,

    /// <summary>Gave up; <see cref="ClientConnection.Failure"/> says why.</summary>
    Failed,
}
