using System.Net;
using Anon.Io;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Anon.Gateway.Observability;

/// <summary>
/// The status page (--status ADDRESS:PORT): Kestrel on that address only, serving <c>/</c> (HTML
/// that reloads itself) and <c>/status.json</c> from the <see cref="StatusBoard"/>, and <c>/metrics</c>
/// (Prometheus text format) from the <see cref="GatewayMetrics"/> instruments. Nothing else is served
/// and nothing is logged per request.
/// </summary>
public sealed class StatusServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StatusServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the page is, port included when 0 was asked for.</summary>
    public Uri Address { get; }

    /// <exception cref="ListenFailedException">The address cannot be listened on.</exception>
    public static async Task<StatusServer> StartAsync(IPEndPoint endPoint, StatusBoard board, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(board);
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(endPoint));
        builder.Services.AddRoutingCore();

        // OpenTelemetry's exporter writes the exposition: the names from the instruments' names and
        // units, HELP and TYPE, escaping. It works under Native AOT (the gateway is published so).
        // It is a pre-release: its naming follows a compatibility specification still marked
        // experimental, so the version is pinned and the names are tested (StatusPageTests).
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("anonGateway", serviceVersion: board.Version))
            .WithMetrics(metrics => metrics
                .AddMeter(GatewayMetrics.MeterName)
                .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        WebApplication app = builder.Build();

        // RequestDelegate handlers: no reflection-built binding, so the gateway can still be trimmed and AOT-compiled.
        app.MapGet("/", context => Write(context, "text/html; charset=utf-8", StatusFormats.Html(board.Current, RefreshSeconds(context.Request))));
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/status.json", context =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return context.Response.WriteAsJsonAsync(board.Current, StatusJsonContext.Default.GatewayStatus, cancellationToken: context.RequestAborted);
        });

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) // Kestrel's "failed to bind": the port is taken, or the address is not this machine's
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ListenFailedException($"cannot serve the status page on {endPoint}: {e.Message}", e);
        }

        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new StatusServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary><c>?refresh=N</c>: reload every N seconds (0: never, to read or capture it at leisure); 2 by default.</summary>
    private static int RefreshSeconds(HttpRequest request) =>
        int.TryParse(request.Query["refresh"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int seconds)
            ? Math.Min(seconds, 3600)
            : StatusFormats.DefaultRefreshSeconds;

    private static Task Write(HttpContext context, string contentType, string body)
    {
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }
}
