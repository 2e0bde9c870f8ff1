using System.Text.Json.Serialization;
using Anon.Protocol;

namespace Anon.Gateway.Observability;

/// <summary>What the status page, its JSON and its metrics show: one consistent moment.</summary>
public sealed record GatewayStatus(string Version, DateTimeOffset StartedAt, int Port, PageStatus Page, TrafficStatus Traffic);

/// <summary>The page being served and how current it is.</summary>
/// <param name="Command">The command it holds (COMMAND=LIGHTON), or why none is recognised.</param>
/// <param name="FetchedAt">When this content was downloaded.</param>
/// <param name="CheckedAt">When the server last confirmed it (a download or a 304 Not Modified).</param>
/// <param name="RefreshError">The last refresh's failure, while it lasts; null when the last one worked.</param>
/// <param name="FromCache">True while the copy served is the one kept on disk, read at start because upstream failed.</param>
public sealed record PageStatus(string Url, int Bytes, string Command, DateTimeOffset FetchedAt, DateTimeOffset CheckedAt, string? RefreshError, bool FromCache = false);

/// <summary>The socket loop's figures as the status page and its JSON show them, taken at <see cref="At"/>.</summary>
public sealed record TrafficStatus
{
    public DateTimeOffset At { get; init; }

    public int OpenConnections { get; init; }

    /// <summary>The most connections open at once since the gateway started.</summary>
    public int PeakOpenConnections { get; init; }

    /// <summary>Connections with a live retransmission timer.</summary>
    public int ArmedTimers { get; init; }

    /// <summary>Entries in the timer queue, stale ones included: a soak checks both return to 0.</summary>
    public int TimerQueueEntries { get; init; }

    public long TransfersCompleted { get; init; }

    public long TransfersFailed { get; init; }

    /// <summary>Connections given up with every byte sent and the FIN unanswered: the client may have the page.</summary>
    public long ClosesUnconfirmed { get; init; }

    public long Retransmissions { get; init; }

    public long DatagramsReceived { get; init; }

    public long DatagramsSent { get; init; }

    public long DatagramsDropped { get; init; }

    public long PayloadBytesSent { get; init; }

    public double? RoundTripMilliseconds { get; init; }

    public IReadOnlyList<ConnectionStatus> Connections { get; init; } = [];

    /// <summary>The figures of <paramref name="snapshot"/>, which the loop posted at <paramref name="at"/>.</summary>
    public static TrafficStatus From(TrafficSnapshot snapshot, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        GatewayStatistics core = snapshot.Core;
        return new TrafficStatus
        {
            At = at,
            OpenConnections = snapshot.OpenConnections,
            PeakOpenConnections = snapshot.PeakOpenConnections,
            ArmedTimers = snapshot.ArmedTimers,
            TimerQueueEntries = snapshot.TimerQueueEntries,
            TransfersCompleted = core.ConnectionsCompleted,
            TransfersFailed = core.ConnectionsTimedOut,
            ClosesUnconfirmed = core.ClosesUnconfirmed,
            Retransmissions = core.Retransmissions,
            DatagramsReceived = core.DatagramsReceived,
            DatagramsSent = core.DatagramsSent,
            DatagramsDropped = snapshot.DatagramsDropped,
            PayloadBytesSent = core.PayloadBytesSent,
            RoundTripMilliseconds = snapshot.RoundTrip?.Smoothed.TotalMilliseconds,
            Connections = [.. snapshot.Connections.Select(view => new ConnectionStatus(
                view.Peer.ToString(),
                view.BytesAcknowledged,
                view.ContentLength,
                view.Retransmissions,
                view.SmoothedRoundTrip?.TotalMilliseconds,
                (snapshot.At - view.OpenedAt).TotalMilliseconds))],
        };
    }
}

/// <summary>One open connection.</summary>
/// <param name="RoundTripMilliseconds">Its smoothed round-trip time, once it has a sample.</param>
public sealed record ConnectionStatus(string Client, int BytesAcknowledged, int Bytes, int Retransmissions, double? RoundTripMilliseconds, double OpenMilliseconds);

/// <summary>Source-generated JSON for the status (no reflection: the gateway can be trimmed or AOT-compiled).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(GatewayStatus))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
