using System.Text;
using Anon.Commands;
using Anon.Io;
using Anon.Signing;

namespace Anon.Gateway.Page;

/// <summary>What <c>--page-key</c> asks of every page: a signature by that key, and no going back in time.</summary>
/// <param name="SignatureUrl">Where the page's <c>.minisig</c> is (<c>--signature-url</c>; the page's URL + ".minisig" by default).</param>
/// <param name="MaxPageAge">Refuse a page signed longer ago than this (<c>--max-page-age</c>); null for no bound.</param>
public sealed record PageSigning(MinisignKey Key, Uri SignatureUrl, TimeSpan? MaxPageAge);

/// <summary>
/// Where pages come from: the downloader, and under <c>--page-key</c> the check of each new page's
/// signature. A page is accepted only when its signature is by the key and its signing time is no
/// earlier than that of the page accepted before it (replay and rollback), nor older than
/// <see cref="PageSigning.MaxPageAge"/>. Under <c>--require-command</c> a page must also begin with a command.
/// </summary>
internal sealed class PageSource(PageDownloader downloader, Uri url, PageSigning? signing, TimeProvider time, bool requireCommand = false)
{
    public Uri Url => url;

    /// <summary>Downloads the page; under a key, only a signed one no older than <paramref name="lastAccepted"/>.</summary>
    /// <exception cref="DownloadFailedException">Upstream failed.</exception>
    /// <exception cref="PageRefusedException">The page is not signed by the key, or is a rollback or too old.</exception>
    public async Task<PageVersion> DownloadAsync(PageVersion? lastAccepted, CancellationToken cancellationToken)
    {
        PageVersion page = await downloader.DownloadAsync(url, cancellationToken).ConfigureAwait(false);
        return await AcceptAsync(page, lastAccepted, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads the page again, conditionally; null when <paramref name="current"/> is still current.</summary>
    /// <exception cref="DownloadFailedException">Upstream failed.</exception>
    /// <exception cref="PageRefusedException">The new page is not signed by the key, or is a rollback or too old.</exception>
    public async Task<PageVersion?> RefreshAsync(PageVersion current, CancellationToken cancellationToken)
    {
        PageVersion? page = await downloader.DownloadAsync(url, current, cancellationToken).ConfigureAwait(false);
        return page is null ? null : await AcceptAsync(page, current, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks a page kept on disk again, as if it had just arrived: the cache is no more trusted than the network.</summary>
    /// <exception cref="PageRefusedException">It is not signed by the key, or is too old.</exception>
    public PageVersion Recheck(PageVersion cached)
    {
        ArgumentNullException.ThrowIfNull(cached);
        RequireCommand(cached);
        if (signing is null)
        {
            return cached;
        }

        if (cached.Signature is null)
        {
            throw new PageRefusedException("the cached copy has no signature (it was kept without --page-key)");
        }

        return Checked(cached, cached.Signature, lastAccepted: null);
    }

    private async Task<PageVersion> AcceptAsync(PageVersion page, PageVersion? lastAccepted, CancellationToken cancellationToken)
    {
        RequireCommand(page);
        if (signing is null)
        {
            return page;
        }

        string signature;
        try
        {
            PageVersion file = await downloader.DownloadAsync(signing.SignatureUrl, cancellationToken).ConfigureAwait(false);
            signature = Encoding.UTF8.GetString(file.Content);
        }
        catch (DownloadFailedException e)
        {
            throw new PageRefusedException($"no signature for {url}: {e.Message}", e);
        }

        return Checked(page, signature, lastAccepted);
    }

    private void RequireCommand(PageVersion page)
    {
        if (requireCommand && !CommandPage.TryParse(page.Content, out _))
        {
            throw new PageRefusedException($"the page's first line is \"{CommandPage.DescribeFirstLine(page.Content)}\", not a command (--require-command)");
        }
    }

    private PageVersion Checked(PageVersion page, string signature, PageVersion? lastAccepted)
    {
        SignedPage signed;
        try
        {
            signed = MinisignVerifier.Verify(signing!.Key, page.Content, signature);
        }
        catch (PageRefusedException e)
        {
            throw new PageRefusedException($"refused the page of {url}: {e.Message}", e);
        }

        if (lastAccepted?.SignedAt is { } last && signed.SignedAt < last)
        {
            throw new PageRefusedException(
                $"refused the page of {url}: it was signed at {UtcTime.Of(signed.SignedAt)}, before the page accepted last (signed at {UtcTime.Of(last)}): a rollback or a replay");
        }

        if (signing.MaxPageAge is { } maximum && time.GetUtcNow() - signed.SignedAt > maximum)
        {
            throw new PageRefusedException(
                $"refused the page of {url}: it was signed at {UtcTime.Of(signed.SignedAt)}, longer ago than --max-page-age {maximum.TotalSeconds:0} s allows");
        }

        return page with { Signature = signature, SignedAt = signed.SignedAt };
    }
}
