using Anon.Protocol;

namespace Anon.Gateway.Observability;

/// <summary>
/// The gateway's figures at one moment, taken by the socket loop on its own thread about once a
/// second: the one source of the minute summary, the status page and the metrics, so that the
/// three always agree (a datagram dropped by <c>--allow</c> is dropped in all three).
/// </summary>
/// <param name="At">When it was taken, on the loop's clock.</param>
/// <param name="PeakOpenConnections">The most connections open at once since the gateway started.</param>
/// <param name="ArmedTimers">Connections with a live retransmission timer.</param>
/// <param name="TimerQueueEntries">Entries in the timer queue, stale ones included.</param>
/// <param name="TransfersFailed">Connections given up before their last segment was sent.</param>
/// <param name="ClosesUnconfirmed">Connections given up with every byte sent and the FIN unanswered: the client may have the page.</param>
/// <param name="DatagramsDropped">Every datagram dropped: by the core for any reason, and by the allow list.</param>
/// <param name="NotAllowed">Datagrams from addresses outside <c>--allow</c>, dropped before the core.</param>
/// <param name="SendErrors">Datagrams the socket refused to send (the retransmission timers cover them).</param>
/// <param name="Connections">Views of open connections, as many as were asked for (the count is always exact).</param>
public sealed record TrafficSnapshot(
    TimeSpan At,
    int OpenConnections,
    int PeakOpenConnections,
    int ArmedTimers,
    int TimerQueueEntries,
    long ConnectionsOpened,
    long TransfersCompleted,
    long TransfersFailed,
    long ClosesUnconfirmed,
    long Retransmissions,
    long DatagramsReceived,
    long DatagramsSent,
    long DatagramsDropped,
    long PayloadBytesSent,
    long SynsAnswered,
    long Runts,
    long UnexpectedPayloads,
    long Unmatched,
    long InvalidAcks,
    long DuplicateAcks,
    long RefusedTableFull,
    long RateLimited,
    long NotAllowed,
    long SendErrors,
    RoundTripEstimate? RoundTrip,
    IReadOnlyList<ConnectionView> Connections)
{
    /// <summary>Before anything happened.</summary>
    public static TrafficSnapshot Empty { get; } = new(TimeSpan.Zero, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, []);

    /// <summary>Reads the core's figures and the loop's own; allocates, so it is taken now and then, not per datagram.</summary>
    /// <param name="connectionsListed">How many open connections to view, at most (0 when nobody shows them).</param>
    public static TrafficSnapshot Take(GatewayEndpoint endpoint, TimeSpan now, long notAllowed, long sendErrors, int connectionsListed)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        GatewayStatistics statistics = endpoint.Statistics;
        var connections = new List<ConnectionView>(Math.Min(connectionsListed, endpoint.ConnectionCount));
        if (connectionsListed > 0)
        {
            endpoint.CopyConnections(connections, connectionsListed);
        }

        return new TrafficSnapshot(
            now,
            endpoint.ConnectionCount,
            endpoint.PeakConnectionCount,
            endpoint.ArmedTimers,
            endpoint.TimerQueueEntries,
            statistics.ConnectionsOpened,
            statistics.ConnectionsCompleted,
            statistics.ConnectionsTimedOut,
            statistics.ClosesUnconfirmed,
            statistics.Retransmissions,
            statistics.DatagramsReceived,
            statistics.DatagramsSent,
            statistics.DatagramsDropped + notAllowed,
            statistics.PayloadBytesSent,
            statistics.SynsAnswered,
            statistics.Runts,
            statistics.UnexpectedPayloads,
            statistics.Unmatched,
            statistics.InvalidAcks,
            statistics.DuplicateAcks,
            statistics.ConnectionsRefused,
            statistics.ConnectionsRateLimited,
            notAllowed,
            sendErrors,
            endpoint.SharedRoundTripEstimate,
            connections);
    }
}

/// <summary>How a drain went (<see cref="Udp.GatewayLoop.Drain"/>).</summary>
/// <param name="InFlight">Connections open when it began.</param>
/// <param name="Opened">Connections opened during it, by handshakes answered before it.</param>
/// <param name="Finished">Transfers completed during it.</param>
/// <param name="GivenUp">Connections given up during it, after every retransmission (closes unconfirmed included).</param>
/// <param name="Cut">Connections still open when it ended, abandoned.</param>
public readonly record struct DrainOutcome(int InFlight, int Opened, int Finished, int GivenUp, int Cut, TimeSpan Took);
