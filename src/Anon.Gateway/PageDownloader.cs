using System.Net;
using Anon.Io;

namespace Anon.Gateway;

/// <summary>Fetches the command page over HTTP or HTTPS, bounded in size, time and redirects.</summary>
public sealed class PageDownloader : IDisposable
{
    public const int DefaultMaximumSize = 1024 * 1024;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private const int MaximumRedirects = 5;

    private readonly HttpClient _http;
    private readonly int _maximumSize;

    public PageDownloader(int maximumSize = DefaultMaximumSize, TimeSpan? timeout = null)
    {
        _maximumSize = maximumSize;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = MaximumRedirects,
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            Timeout = timeout ?? DefaultTimeout,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"anonGateway/{typeof(PageDownloader).Assembly.GetName().Version?.ToString(3)}");
    }

    /// <summary>Downloads the page at <paramref name="url"/>.</summary>
    /// <exception cref="CommandFailedException">Unreachable, an HTTP error status, too large, or too slow.</exception>
    public async Task<byte[]> DownloadAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using HttpResponseMessage response = await _http
                .GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
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

            return page.ToArray();
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

    private CommandFailedException TooLarge(Uri url) =>
        Failure(url, $"the page is larger than the limit of {_maximumSize} bytes (see --max-size)");

    private static CommandFailedException Failure(Uri url, string reason, Exception? inner = null) =>
        new(ExitCodes.Unavailable, $"cannot download {url}: {reason}", inner);
}
