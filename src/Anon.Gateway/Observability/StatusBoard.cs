using Anon.Gateway.Page;

namespace Anon.Gateway.Observability;

/// <summary>
/// Where the parts of the gateway post what the status page shows: the page (at start and by the
/// refresher) and the traffic (by the socket loop, about once a second). Each post replaces an
/// immutable record, so readers on other threads always see a consistent one.
/// </summary>
public sealed class StatusBoard(string version, int port, TimeProvider time)
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private PageStatus? _page;
    private TrafficStatus? _traffic;

    /// <summary>Everything at once, as of the latest posts.</summary>
    public GatewayStatus Current => new(
        version,
        _startedAt,
        port,
        Volatile.Read(ref _page) ?? throw new InvalidOperationException("no page has been posted yet"),
        Volatile.Read(ref _traffic) ?? TrafficStatus.None(_startedAt));

    /// <summary>A page was downloaded (at start, or a refresh found it changed).</summary>
    public void PageFetched(Uri url, ReadOnlySpan<byte> content)
    {
        DateTimeOffset now = time.GetUtcNow();
        Volatile.Write(ref _page, new PageStatus(url.ToString(), content.Length, PageRefresher.Describe(content), now, now, null));
    }

    /// <summary>Upstream failed at start: the copy kept on disk, fetched at <paramref name="fetchedAt"/>, is served.</summary>
    public void PageFromCache(Uri url, ReadOnlySpan<byte> content, DateTimeOffset fetchedAt, string upstreamError) =>
        Volatile.Write(ref _page, new PageStatus(url.ToString(), content.Length, PageRefresher.Describe(content), fetchedAt, fetchedAt, upstreamError, FromCache: true));

    /// <summary>A refresh found the page unchanged.</summary>
    public void PageConfirmed() => Update(page => page with { CheckedAt = time.GetUtcNow(), RefreshError = null, FromCache = false });

    /// <summary>A refresh failed; the last good copy is still served.</summary>
    public void PageRefreshFailed(string error) => Update(page => page with { RefreshError = error });

    /// <summary>The socket loop's figures, as the page shows them; called on the loop's thread.</summary>
    public void PostTraffic(TrafficSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        TrafficStatus traffic = new(
            time.GetUtcNow(),
            snapshot.OpenConnections,
            snapshot.PeakOpenConnections,
            snapshot.ArmedTimers,
            snapshot.TimerQueueEntries,
            snapshot.TransfersCompleted,
            snapshot.TransfersFailed,
            snapshot.ClosesUnconfirmed,
            snapshot.Retransmissions,
            snapshot.DatagramsReceived,
            snapshot.DatagramsSent,
            snapshot.DatagramsDropped,
            snapshot.PayloadBytesSent,
            snapshot.RoundTrip?.Smoothed.TotalMilliseconds,
            [.. snapshot.Connections.Select(view => new ConnectionStatus(
                view.Peer.ToString(),
                view.BytesAcknowledged,
                view.ContentLength,
                view.Retransmissions,
                view.SmoothedRoundTrip?.TotalMilliseconds,
                (snapshot.At - view.OpenedAt).TotalMilliseconds))]);
        Volatile.Write(ref _traffic, traffic);
    }

    private void Update(Func<PageStatus, PageStatus> change)
    {
        // Only the refresher changes the page after start, so there is no race to lose.
        if (Volatile.Read(ref _page) is { } page)
        {
            Volatile.Write(ref _page, change(page));
        }
    }
}
