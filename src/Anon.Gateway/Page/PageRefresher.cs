using Anon.Commands;
using Anon.Gateway.Observability;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Page;

/// <summary>
/// Keeps the served page current: downloads it again every interval with a conditional GET, hands
/// a changed page to <paramref name="publish"/> (the socket loops, which give it, and its signature, to new connections),
/// and on failure keeps serving the last good copy while it retries with backoff. Each page upstream
/// gives or confirms is kept in the <see cref="PageCache"/>, when there is one.
/// </summary>
internal sealed class PageRefresher(
    PageSource source,
    TimeSpan interval,
    Action<PageVersion> publish,
    PacketLog log,
    TimeProvider time,
    StatusBoard? status = null,
    PageCache? cache = null)
{
    /// <summary>A confirmed page (a 304) is written to the cache again at most this often: an SD card wears with each write.</summary>
    private static readonly TimeSpan ConfirmationSavedEvery = TimeSpan.FromHours(1);

    /// <summary>Longest wait between tries while the server fails (or the interval, if longer).</summary>
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromMinutes(10);

    /// <summary>The wait between refreshes last said in the log, so that it is said when it changes only.</summary>
    private TimeSpan _waitLogged;

    private DateTimeOffset _savedAt;

    /// <param name="first">The page served now; when it came from the cache because upstream failed, upstream is tried again soon, with backoff.</param>
    public async Task RunAsync(StartingPage first, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(first);
        PageVersion current = first.Page;
        bool upstreamFailed = first.FromCache;
        int failures = upstreamFailed ? 1 : 0;
        _savedAt = upstreamFailed ? DateTimeOffset.MinValue : time.GetUtcNow(); // a confirmation of the cached copy renews it
        TimeSpan wait = upstreamFailed ? RetryBackoff.Next(interval, failures, MaximumBackoff) : NextRefresh(current);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, time, stop).ConfigureAwait(false);
                PageVersion? next = await source.RefreshAsync(current, stop).ConfigureAwait(false);
                if (failures > 0)
                {
                    log.Event($"refresh of {source.Url} works again after {failures} failures");
                    failures = 0;
                }

                if (next is null)
                {
                    status?.PageConfirmed();
                    if (time.GetUtcNow() - _savedAt >= ConfirmationSavedEvery)
                    {
                        Save(current);
                    }

                    wait = NextRefresh(current);
                    continue; // 304 Not Modified: what we serve is current
                }

                if (!next.Content.AsSpan().SequenceEqual(current.Content))
                {
                    publish(next);
                    status?.PageFetched(source.Url, next.Content);
                    log.Event($"page changed: now {next.Content.Length} bytes, {CommandPage.Describe(next.Content)} (was {CommandPage.Describe(current.Content)})");
                }
                else
                {
                    status?.PageConfirmed();
                }

                Save(next);
                current = next;
                wait = NextRefresh(current);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DownloadFailedException or PageRefusedException)
            {
                // The wait logged is the wait taken.
                wait = RetryBackoff.Next(interval, ++failures, MaximumBackoff);
                status?.PageRefreshFailed(e.Message);
                string what = e is PageRefusedException ? "refresh refused" : "refresh failed";
                log.Event($"{what}: {e.Message}; still serving the last good copy; next try in {wait.TotalSeconds:0.0} s");
            }
        }
    }

    /// <summary>Keeps the page as the last good copy; a cache that cannot be written is said, not fatal: the page is served all the same.</summary>
    private void Save(PageVersion page)
    {
        _savedAt = time.GetUtcNow();
        cache?.SaveOrWarn(source.Url, page, _savedAt, log);
    }

    /// <summary>
    /// The interval, but never before the server's <c>Cache-Control: max-age</c> says the page goes
    /// stale (RFC 9111 §4.2.1); logged when max-age sets it, so that a slower refresh is explained.
    /// </summary>
    private TimeSpan NextRefresh(PageVersion current)
    {
        TimeSpan wait = current.MaxAge is { } maxAge && maxAge > interval ? maxAge : interval;
        if (wait != interval && wait != _waitLogged)
        {
            log.Event($"the server's max-age keeps the page fresh for {wait.TotalSeconds:0.#} s: refreshing after that, not every {interval.TotalSeconds:0.#} s");
        }

        _waitLogged = wait;
        return wait;
    }
}
