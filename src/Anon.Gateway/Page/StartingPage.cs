using Anon.Commands;
using Anon.Gateway.Observability;
using Anon.Io;

namespace Anon.Gateway.Page;

/// <summary>
/// The page the gateway starts serving, and where it came from: downloaded (and kept in the cache),
/// or, when upstream fails, the cached copy if it is no older than <c>--max-stale</c>. Under
/// <c>--page-key</c> both must pass the signature check, and a download must not be older than the
/// cached copy it replaces.
/// </summary>
/// <param name="Cached">The cached copy served, when upstream failed at start; null when downloaded.</param>
/// <param name="UpstreamError">Why upstream failed, when the cached copy is served.</param>
internal sealed record StartingPage(PageVersion Page, CachedPage? Cached, string? UpstreamError)
{
    /// <summary>True when upstream failed and the cached copy is served: the refresher tries again soon, with backoff.</summary>
    public bool FromCache => Cached is not null;

    /// <summary>
    /// Downloads the page, or takes the cached copy when upstream fails. A page that holds no command
    /// is served all the same (the spec's devices report it, exit code 65), but never in silence.
    /// </summary>
    /// <exception cref="DownloadFailedException">Upstream failed and no usable cached copy is kept.</exception>
    /// <exception cref="PageRefusedException">Under --page-key, the downloaded page is refused.</exception>
    public static async Task<StartingPage> GetAsync(PageSource source, PageCache? cache, TimeSpan maxStale, PacketLog log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        StartingPage starting = await FirstAsync(source, cache, maxStale, log, cancellationToken).ConfigureAwait(false);
        if (!CommandPage.TryParse(starting.Page.Content, out _))
        {
            string warning = $"warning: the page's first line is \"{CommandPage.DescribeFirstLine(starting.Page.Content)}\", not a command: the devices will refuse it (--require-command refuses it here)";
            log.Event(warning);
            Console.Error.WriteLine($"anonGateway: {warning}");
        }

        return starting;
    }

    private static async Task<StartingPage> FirstAsync(PageSource source, PageCache? cache, TimeSpan maxStale, PacketLog log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        string? whyNone = null;
        CachedPage? cached = cache?.Load(source.Url, out whyNone);
        if (cached is not null)
        {
            try
            {
                cached = cached with { Page = source.Recheck(cached.Page) };
            }
            catch (PageRefusedException e)
            {
                (cached, whyNone) = (null, $"the cached copy is not served: {e.Message}");
            }
        }

        try
        {
            PageVersion page = await source.DownloadAsync(lastAccepted: cached?.Page, cancellationToken).ConfigureAwait(false);
            log.Event($"downloaded {page.Content.Length} bytes: {CommandPage.Describe(page.Content)}{(page.SignedAt is { } signedAt ? $", signed at {UtcTime.Of(signedAt)}" : "")}");
            if (cache?.SaveOrWarn(source.Url, page, DateTimeOffset.UtcNow, log) is { } warning)
            {
                Console.Error.WriteLine($"anonGateway: {warning}");
            }

            return new StartingPage(page, null, null);
        }
        catch (DownloadFailedException e) when (cache is not null)
        {
            if (cached is null)
            {
                throw new DownloadFailedException($"{e.Message}; {whyNone}", e);
            }

            TimeSpan age = DateTimeOffset.UtcNow - cached.FetchedAt;
            if (age > maxStale)
            {
                throw new DownloadFailedException(
                    $"{e.Message}; the cached copy was fetched {Ago(age)} ago, longer than --max-stale {maxStale.TotalSeconds:0} s allows", e);
            }

            string serving = $"upstream failed ({e.Message}): serving the copy kept in {cache.FilePath}, fetched {UtcTime.Of(cached.FetchedAt)} ({Ago(age)} ago), and trying upstream again";
            log.Event(serving);
            Console.Error.WriteLine($"anonGateway: {serving}");
            return new StartingPage(cached.Page, cached, e.Message);
        }
    }

    /// <summary>Tells the status board what is served and where it came from.</summary>
    public void PostTo(StatusBoard status, Uri url)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (Cached is not null)
        {
            status.PageFromCache(url, Page.Content, Cached.FetchedAt, UpstreamError!);
        }
        else
        {
            status.PageFetched(url, Page.Content);
        }
    }

    private static string Ago(TimeSpan age) => age.TotalHours >= 2 ? $"{age.TotalHours:0.#} h" : $"{Math.Max(0, age.TotalSeconds):0} s";
}
