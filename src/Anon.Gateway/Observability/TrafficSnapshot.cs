using Anon.Protocol;

namespace Anon.Gateway.Observability;

/// <summary>
/// The gateway's figures at one moment, taken by the socket loop on its own thread about once a
/// second: the one source of the minute summary, the status page and the metrics, so that the
/// three always agree (a datagram dropped by <c>--allow</c> is dropped in all three). The core's
/// totals are copied whole (<see cref="Core"/>); the rest is what the loop and the table add.
/// </summary>
public sealed record TrafficSnapshot
{
    /// <summary>Before anything happened.</summary>
    public static TrafficSnapshot Empty { get; } = new();

    /// <summary>When it was taken, on the loop's clock.</summary>
    public TimeSpan At { get; init; }

    /// <summary>The core's running totals, as they were.</summary>
    public GatewayStatistics Core { get; init; }

    public int OpenConnections { get; init; }

    /// <summary>The most connections open at once since the gateway started.</summary>
    public int PeakOpenConnections { get; init; }

    /// <summary>Connections with a live retransmission timer.</summary>
    public int ArmedTimers { get; init; }

    /// <summary>Entries in the timer queue, stale ones included.</summary>
    public int TimerQueueEntries { get; init; }

    /// <summary>Datagrams from addresses outside <c>--allow</c>, dropped before the core.</summary>
    public long NotAllowed { get; init; }

    /// <summary>Datagrams the socket refused to send (the retransmission timers cover them).</summary>
    public long SendErrors { get; init; }

    /// <summary>The round-trip estimate of the last completed connection, once there is one.</summary>
    public RoundTripEstimate? RoundTrip { get; init; }

    /// <summary>Views of open connections, as many as were asked for (the count is always exact).</summary>
    public IReadOnlyList<ConnectionView> Connections { get; init; } = [];

    /// <summary>Every datagram dropped: by the core for any reason, and by the allow list.</summary>
    public long DatagramsDropped => Core.DatagramsDropped + NotAllowed;

    /// <summary>Reads the core's figures and the loop's own; allocates, so it is taken now and then, not per datagram.</summary>
    /// <param name="connectionsListed">How many open connections to view, at most (0 when nobody shows them).</param>
    public static TrafficSnapshot Take(GatewayEndpoint endpoint, TimeSpan now, long notAllowed, long sendErrors, int connectionsListed)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var connections = new List<ConnectionView>(Math.Min(connectionsListed, endpoint.ConnectionCount));
        if (connectionsListed > 0)
        {
            endpoint.CopyConnections(connections, connectionsListed);
        }

        return new TrafficSnapshot
        {
            At = now,
            Core = endpoint.Statistics,
            OpenConnections = endpoint.ConnectionCount,
            PeakOpenConnections = endpoint.PeakConnectionCount,
            ArmedTimers = endpoint.ArmedTimers,
            TimerQueueEntries = endpoint.TimerQueueEntries,
            NotAllowed = notAllowed,
            SendErrors = sendErrors,
            RoundTrip = endpoint.SharedRoundTripEstimate,
            Connections = connections,
        };
    }
}

/// <summary>How a drain went (<see cref="Udp.GatewayLoop.Drain"/>).</summary>
/// <param name="InFlight">Connections open when it began.</param>
/// <param name="Opened">Connections opened during it, by handshakes answered before it.</param>
/// <param name="Finished">Transfers completed during it.</param>
/// <param name="GivenUp">Connections given up during it, after every retransmission (closes unconfirmed included).</param>
/// <param name="Cut">Connections still open when it ended, abandoned.</param>
public readonly record struct DrainOutcome(int InFlight, int Opened, int Finished, int GivenUp, int Cut, TimeSpan Took);
