using System.Text.Json.Serialization;

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

/// <summary>The socket loop's figures, taken at <paramref name="At"/>.</summary>
/// <param name="PeakOpenConnections">The most connections open at once since the gateway started.</param>
/// <param name="ArmedTimers">Connections with a live retransmission timer.</param>
/// <param name="TimerQueueEntries">Entries in the timer queue, stale ones included: a soak checks both return to 0.</param>
/// <param name="ClosesUnconfirmed">Connections given up with every byte sent and the FIN unanswered: the client may have the page.</param>
public sealed record TrafficStatus(
    DateTimeOffset At,
    int OpenConnections,
    int PeakOpenConnections,
    int ArmedTimers,
    int TimerQueueEntries,
    long TransfersCompleted,
    long TransfersFailed,
    long ClosesUnconfirmed,
    long Retransmissions,
    long DatagramsReceived,
    long DatagramsSent,
    long DatagramsDropped,
    long PayloadBytesSent,
    double? RoundTripMilliseconds,
    IReadOnlyList<ConnectionStatus> Connections)
{
    public static TrafficStatus None(DateTimeOffset at) => new(at, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, []);
}

/// <summary>One open connection.</summary>
/// <param name="RoundTripMilliseconds">Its smoothed round-trip time, once it has a sample.</param>
public sealed record ConnectionStatus(string Client, int BytesAcknowledged, int Bytes, int Retransmissions, double? RoundTripMilliseconds, double OpenMilliseconds);

/// <summary>Source-generated JSON for the status (no reflection: the gateway can be trimmed or AOT-compiled).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(GatewayStatus))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
