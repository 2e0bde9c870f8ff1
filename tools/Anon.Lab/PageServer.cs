using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Anon.Lab;

/// <summary>
/// A real HTTP server (Kestrel) on 127.0.0.1 serving command pages from memory, standing in for the
/// web page the gateway downloads. Pages can be changed while it runs, and it counts requests.
/// </summary>
public sealed class PageServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Page> _pages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _files = new(StringComparer.Ordinal);
    private int _requests;
    private int _conditionalRequests;
    private int _notModified;

    private PageServer(WebApplication app) => _app = app;

    /// <summary>The server's base address, such as http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public int Requests => _requests;

    /// <summary>Requests that carried If-None-Match or If-Modified-Since.</summary>
    public int ConditionalRequests => _conditionalRequests;

    /// <summary>Answers of 304 Not Modified.</summary>
    public int NotModified => _notModified;

    /// <summary>Starts a server on a free port of 127.0.0.1; over HTTPS with <paramref name="certificate"/>, if given.</summary>
    public static async Task<PageServer> StartAsync(int port = 0, X509Certificate2? certificate = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (certificate is null)
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }
        else
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));
        }

        WebApplication app = builder.Build();
        var server = new PageServer(app);
        app.Use(async (context, next) =>
        {
            Interlocked.Increment(ref server._requests);
            if (context.Request.Headers.IfNoneMatch.Count > 0 || context.Request.Headers.IfModifiedSince.Count > 0)
            {
                Interlocked.Increment(ref server._conditionalRequests);
            }

            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode == StatusCodes.Status304NotModified)
            {
                Interlocked.Increment(ref server._notModified);
            }
        });
        // Each page has an ETag and a Last-Modified date, so conditional requests get 304 (RFC 9110 §13.1).
        app.MapGet("/{name}", (string name, HttpContext context) =>
        {
            if (!server._pages.TryGetValue(name, out Page? page) && !server.TryReadFile(name, out page))
            {
                return Results.NotFound();
            }

            if (page.MaxAge is { } maxAge)
            {
                context.Response.Headers.CacheControl = $"max-age={(int)maxAge.TotalSeconds}";
            }

            return Results.Bytes(page.Content, "text/plain", lastModified: page.Modified, entityTag: page.ETag);
        });
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address + "/");
        return server;
    }

    /// <summary>Serves <paramref name="content"/> at /<paramref name="name"/> and returns its URL.</summary>
    /// <param name="maxAge">Sent as <c>Cache-Control: max-age</c>, if given.</param>
    public Uri Serve(string name, byte[] content, TimeSpan? maxAge = null)
    {
        _pages[name] = Page.Of(content, DateTimeOffset.UtcNow, maxAge);
        return new Uri(BaseAddress, name);
    }

    /// <summary>
    /// Serves the file at <paramref name="path"/> at /<paramref name="name"/>, read anew for each
    /// request (so that whoever edits the file changes the page; write it whole, then rename); 404
    /// while it does not exist. Returns its URL.
    /// </summary>
    public Uri ServeFile(string name, string path)
    {
        _files[name] = path;
        return new Uri(BaseAddress, name);
    }

    /// <summary>Stops serving /<paramref name="name"/>: it answers 404 until served again.</summary>
    public void Remove(string name) => _pages.TryRemove(name, out _);

    /// <summary>Serves every file of <paramref name="directory"/> under its own name.</summary>
    public void ServeDirectory(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory))
        {
            Serve(Path.GetFileName(file), File.ReadAllBytes(file));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private bool TryReadFile(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Page? page)
    {
        page = null;
        if (!_files.TryGetValue(name, out string? path))
        {
            return false;
        }

        try
        {
            page = Page.Of(File.ReadAllBytes(path), File.GetLastWriteTimeUtc(path), maxAge: null);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private sealed record Page(byte[] Content, Microsoft.Net.Http.Headers.EntityTagHeaderValue ETag, DateTimeOffset Modified, TimeSpan? MaxAge)
    {
        public static Page Of(byte[] content, DateTimeOffset modified, TimeSpan? maxAge)
        {
            string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))[..16];
            return new Page(content, new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{hash}\""), modified, maxAge);
        }
    }
}
