using System.Net;
using Anon.Client.Fetching;
using Anon.Io;
using Anon.Signing;

namespace Anon.Client.Signing;

/// <summary>
/// With <c>--page-key</c>: the page from the gateway's port, then its signature from the signature's
/// port, and the pair checked (<see cref="SignatureCheck"/>) before anything is done with the page;
/// the page's signing time is then kept as the last accepted. Nothing here trusts the gateway.
/// </summary>
/// <param name="signaturePort">The gateway's port for the signature (<c>--signature-port</c>).</param>
internal sealed class SignedFetch(SignatureCheck check, int signaturePort)
{
    /// <summary>
    /// Pairs fetched at most: a refresh on the gateway between the page and its signature gives a
    /// pair that does not match, and the next pair does.
    /// </summary>
    private const int Attempts = 3;

    /// <summary>The page, checked; its fetch stays open for its linger.</summary>
    /// <param name="fetch">One transfer from an address (the page's port or the signature's).</param>
    /// <exception cref="PageRefusedException">No signature, or a pair that fails the check <see cref="Attempts"/> times.</exception>
    /// <exception cref="TransferFailedException">The page could not be fetched, or a signal stopped the fetch.</exception>
    public PageFetch Run(IPEndPoint gateway, Func<IPEndPoint, PageFetch> fetch, PacketLog log, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(log);
        var signatureAt = new IPEndPoint(gateway.Address, signaturePort);
        for (int attempt = 1; ; attempt++)
        {
            PageFetch page = fetch(gateway);
            try
            {
                byte[] signature;
                try
                {
                    using PageFetch signatureFetch = fetch(signatureAt);
                    signature = signatureFetch.Content.ToArray();
                }
                catch (TransferFailedException e) when (!stop.IsCancellationRequested)
                {
                    throw new PageRefusedException($"no signature for the page from {signatureAt}: {e.Message}", e);
                }

                SignedPage signed;
                try
                {
                    signed = check.Check(page.Content.Span, signature);
                }
                catch (PageRefusedException e)
                {
                    if (attempt == Attempts)
                    {
                        throw new PageRefusedException($"refused the page from {gateway}: {e.Message}", e);
                    }

                    log.Event($"refused the page: {e.Message}; fetching the page and its signature again ({attempt} of {Attempts} tries)");
                    page.Dispose();
                    continue;
                }

                check.Accept(signed);
                log.Event($"signature checked: the page was signed at {signed.SignedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC by the key given (--page-key)");
                return page;
            }
            catch
            {
                page.Dispose();
                throw;
            }
        }
    }
}
