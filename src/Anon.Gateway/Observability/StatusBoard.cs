using Anon.Commands;

namespace Anon.Gateway.Observability;

/// <summary>
/// Where the parts of the gateway post what the status page and the metrics show: the page (at
/// start and by the refresher) and the traffic (by the socket loop, about once a second). Each post
/// replaces an immutable record, so readers on other threads always see a consistent one.
/// </summary>
public sealed class StatusBoard(string version, int port, TimeProvider time)
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private PageStatus? _page;
    private PostedTraffic _traffic = new(TrafficSnapshot.Empty, time.GetUtcNow());

    /// <summary>The gateway's version, as the page and the metrics' <c>target_info</c> say it.</summary>
    public string Version => version;

    /// <summary>Everything at once, as of the latest posts.</summary>
    public GatewayStatus Current
    {
        get
        {
            PostedTraffic traffic = Volatile.Read(ref _traffic);
            return new(version, _startedAt, port, Page ?? throw new InvalidOperationException("no page has been posted yet"), TrafficStatus.From(traffic.Snapshot, traffic.At));
        }
    }

    /// <summary>The page being served, once one is.</summary>
    public PageStatus? Page => Volatile.Read(ref _page);

    /// <summary>The loop's latest figures, and when they were posted.</summary>
    public PostedTraffic Traffic => Volatile.Read(ref _traffic);

    /// <summary>A page was downloaded (at start, or a refresh found it changed).</summary>
    public void PageFetched(Uri url, ReadOnlySpan<byte> content)
    {
        DateTimeOffset now = time.GetUtcNow();
        Volatile.Write(ref _page, new PageStatus(url.ToString(), content.Length, CommandPage.Describe(content), now, now, null));
    }

    /// <summary>Upstream failed at start: the copy kept on disk, fetched at <paramref name="fetchedAt"/>, is served.</summary>
    public void PageFromCache(Uri url, ReadOnlySpan<byte> content, DateTimeOffset fetchedAt, string upstreamError) =>
        Volatile.Write(ref _page, new PageStatus(url.ToString(), content.Length, CommandPage.Describe(content), fetchedAt, fetchedAt, upstreamError, FromCache: true));

    /// <summary>A refresh found the page unchanged.</summary>
    public void PageConfirmed() => Update(page => page with { CheckedAt = time.GetUtcNow(), RefreshError = null, FromCache = false });

    /// <summary>A refresh failed; the last good copy is still served.</summary>
    public void PageRefreshFailed(string error) => Update(page => page with { RefreshError = error });

    /// <summary>The socket loop's figures; called on the loop's thread. Kept as they are: readers word them.</summary>
    public void PostTraffic(TrafficSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Volatile.Write(ref _traffic, new PostedTraffic(snapshot, time.GetUtcNow()));
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

/// <summary>A <see cref="TrafficSnapshot"/> and the moment, on the wall clock, the loop posted it.</summary>
public sealed record PostedTraffic(TrafficSnapshot Snapshot, DateTimeOffset At);
