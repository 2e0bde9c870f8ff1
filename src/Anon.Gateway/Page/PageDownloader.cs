using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Anon.Io;

namespace Anon.Gateway.Page;

/// <summary>Fetches the command page over HTTP or HTTPS, bounded in size, time and redirects.</summary>
public sealed class PageDownloader : IDisposable
{
    public const int DefaultMaximumSize = 1024 * 1024;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private const int MaximumRedirects = 5;

    private readonly HttpClient _http;
    private readonly int _maximumSize;

    /// <param name="trustedAuthorities">
    /// When given, HTTPS servers are trusted only if their certificate chains to one of these (a
    /// private CA), instead of to the system's trust store. Certificates are always validated.
    /// </param>
    public PageDownloader(int maximumSize = DefaultMaximumSize, TimeSpan? timeout = null, X509Certificate2Collection? trustedAuthorities = null)
    {
        _maximumSize = maximumSize;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = MaximumRedirects,
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (trustedAuthorities is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                ChainsTo(trustedAuthorities, certificate, errors);
        }

        _http = new HttpClient(handler)
        {
            Timeout = timeout ?? DefaultTimeout,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"anonGateway/{typeof(PageDownloader).Assembly.GetName().Version?.ToString(3)}");
    }

    /// <summary>Downloads the page at <paramref name="url"/>.</summary>
    /// <exception cref="DownloadFailedException">Unreachable, an HTTP error status, too large, or too slow.</exception>
    public async Task<PageVersion> DownloadAsync(Uri url, CancellationToken cancellationToken) =>
        await DownloadAsync(url, null, cancellationToken).ConfigureAwait(false)
        ?? throw Failure(url, "the server answered 304 Not Modified to an unconditional request");

    /// <summary>
    /// Downloads the page again, conditionally: with <c>If-None-Match</c> and <c>If-Modified-Since</c>
    /// from <paramref name="current"/> (RFC 9110 §13.1), so an unchanged page costs a 304 and no body.
    /// </summary>
    /// <returns>The new version, or null when the server says <paramref name="current"/> is still current.</returns>
    /// <exception cref="DownloadFailedException">Unreachable, an HTTP error status, too large, or too slow.</exception>
    public async Task<PageVersion?> DownloadAsync(Uri url, PageVersion? current, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (current?.ETag is { } etag)
        {
            request.Headers.IfNoneMatch.Add(etag);
        }

        if (current?.LastModified is { } lastModified)
        {
            request.Headers.IfModifiedSince = lastModified;
        }

        try
        {
            using HttpResponseMessage response = await _http
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
            TimeSpan? maxAge = response.Headers.CacheControl?.MaxAge;
            if (response.StatusCode == HttpStatusCode.NotModified && current is not null)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw Failure(url, $"the server answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > _maximumSize)
            {
                throw TooLarge(url);
            }

            using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var page = new MemoryStream();
            byte[] buffer = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (page.Length + read > _maximumSize)
                {
                    throw TooLarge(url);
                }

                page.Write(buffer, 0, read);
            }

            return new PageVersion(page.ToArray(), response.Headers.ETag, response.Content.Headers.LastModified, maxAge);
        }
        catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
        {
            throw Failure(url, $"the server's certificate is not trusted ({e.InnerException.Message}); for a private CA, give its certificate with --ca-file", e);
        }
        catch (HttpRequestException e)
        {
            throw Failure(url, e.InnerException?.Message ?? e.Message, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failure(url, $"no complete answer within {_http.Timeout.TotalSeconds:0} s", e);
        }
        catch (IOException e)
        {
            throw Failure(url, e.Message, e);
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Reads the certificates of a PEM file, for <c>--ca-file</c>.</summary>
    /// <exception cref="UsageException">The file is missing or holds no certificate.</exception>
    public static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new UsageException($"cannot read the CA certificates in '{path}': {e.Message}", e);
        }

        return authorities.Count > 0
            ? authorities
            : throw new UsageException($"'{path}' holds no PEM certificate");
    }

    /// <summary>The name must match; the chain must end in one of <paramref name="authorities"/>, and nowhere else.</summary>
    private static bool ChainsTo(X509Certificate2Collection authorities, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a private CA rarely publishes revocation lists
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    private DownloadFailedException TooLarge(Uri url) =>
        Failure(url, $"the page is larger than the limit of {_maximumSize} bytes (see --max-size)");

    private static DownloadFailedException Failure(Uri url, string reason, Exception? inner = null) =>
        new($"cannot download {url}: {reason}", inner);
}

/// <summary>A downloaded page and what the server said about it, for revalidating it later.</summary>
/// <param name="MaxAge">The server's <c>Cache-Control: max-age</c>: how long the page stays fresh.</param>
/// <param name="Signature">Under --page-key, the minisign signature file that vouched for it.</param>
/// <param name="SignedAt">Under --page-key, when its publisher signed it (the trusted comment's timestamp).</param>
public sealed record PageVersion(
    byte[] Content,
    System.Net.Http.Headers.EntityTagHeaderValue? ETag,
    DateTimeOffset? LastModified,
    TimeSpan? MaxAge,
    string? Signature = null,
    DateTimeOffset? SignedAt = null);
