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
    private readonly ConcurrentDictionary<string, byte[]> _pages = new(StringComparer.Ordinal);
    private int _requests;

    private PageServer(WebApplication app) => _app = app;

    /// <summary>The server's base address, such as http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public int Requests => _requests;

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
        app.MapGet("/{name}", (string name) =>
        {
            Interlocked.Increment(ref server._requests);
            return server._pages.TryGetValue(name, out byte[]? page)
                ? Results.Bytes(page, "text/plain")
                : Results.NotFound();
        });
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address + "/");
        return server;
    }

    /// <summary>Serves <paramref name="content"/> at /<paramref name="name"/> and returns its URL.</summary>
    public Uri Serve(string name, byte[] content)
    {
        _pages[name] = content;
        return new Uri(BaseAddress, name);
    }

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
}
