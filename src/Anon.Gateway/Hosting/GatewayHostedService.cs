using System.Net;
using Anon.Gateway.Observability;
using Anon.Gateway.Page;
using Anon.Gateway.Udp;
using Anon.Cli;
using Anon.Commands;
using Anon.Io;
using Anon.Protocol;
using Microsoft.Extensions.Hosting;

namespace Anon.Gateway.Hosting;

/// <summary>
/// The gateway as a hosted service. Starting downloads the page and binds the socket, so that
/// "started" (systemd's READY=1 under <c>Type=notify</c>) means "serving"; the socket loop then runs
/// on a thread of its own; stopping (SIGTERM) drains it: no new connections, and the transfers in
/// flight finish, within <c>--drain-timeout</c>.
/// </summary>
public sealed class GatewayHostedService(GatewaySettings settings, PacketLog log, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private PageDownloader? _downloader;
    private GatewayLoop? _loop;
    private GatewayMetrics? _metrics;
    private StatusServer? _statusServer;
    private LoopThread? _loopThread;
    private Task _refreshing = Task.CompletedTask;

    private static readonly string ProgramVersion = typeof(GatewayHostedService).Assembly.GetName().Version?.ToString(3) ?? "";

    /// <summary>After the host has stopped: throws what ended the socket loop, if anything did.</summary>
    public void ThrowIfFaulted() => _loopThread?.ThrowIfFaulted();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        log.Event($"anonGateway starting: downloading {settings.Url}");
        try
        {
            _downloader = new PageDownloader(
                settings.MaximumPageSize, trustedAuthorities: settings.CaFile is null ? null : PageDownloader.LoadAuthorities(settings.CaFile));
            PageCache? cache = settings.CacheDirectory is { Length: > 0 } directory ? new PageCache(directory) : null;
            var source = new PageSource(_downloader, settings.Url, settings.Signing, TimeProvider.System, settings.RequireCommand);
            StartingPage starting = await StartingPage.GetAsync(source, cache, settings.MaxStale, log, cancellationToken).ConfigureAwait(false);
            PageVersion first = starting.Page;
            string command = CommandPage.Describe(first.Content);

            ISynCookieGenerator cookies = settings.InitialSequence is { } isn
                ? new FixedSynCookie(new SequenceNumber(isn))
                : KeyedSynCookies.CreateRandom();
            var endpoint = new GatewayEndpoint(first.Content, cookies, settings.Options);
            (System.Net.Sockets.Socket socket, bool passed) = GatewaySocket.Open(settings.Port, settings.BindAddress, log);
            var status = new StatusBoard(ProgramVersion, ((IPEndPoint)socket.LocalEndPoint!).Port, TimeProvider.System);
            starting.PostTo(status, settings.Url);

            _metrics = new GatewayMetrics(status);
            if (settings.StatusEndPoint is { } statusEndPoint)
            {
                _statusServer = await StatusServer.StartAsync(statusEndPoint, status, cancellationToken).ConfigureAwait(false);
                log.Event($"status page at {_statusServer.Address}");
            }

            _loop = new GatewayLoop(socket, endpoint, new GatewayReporter(log, status, listConnections: _statusServer is not null), allowed: settings.Allowed);

            // The address the socket is bound to, when it is one: --bind's, or the passed socket's when systemd passed one.
            IPAddress? boundTo = passed ? _loop.LocalEndPoint.Address : settings.BindAddress;
            string address = boundTo is null || boundTo.Equals(IPAddress.Any) || boundTo.Equals(IPAddress.IPv6Any) ? "" : $" of {boundTo}";
            string listening = $"serving {first.Content.Length} bytes ({command}) from {settings.Url}; listening on UDP port {_loop.LocalEndPoint.Port}{address}";
            log.Event(listening);
            Console.WriteLine($"anonGateway: {listening}");
            if (_statusServer is not null)
            {
                Console.WriteLine($"anonGateway: status page at {_statusServer.Address}");
            }

            Console.Out.Flush();

            _loopThread = new LoopThread("anonGateway UDP loop", _loop.Run, lifetime);
            _loopThread.Start();
            if (settings.Refresh > TimeSpan.Zero)
            {
                var refresher = new PageRefresher(source, settings.Refresh, _loop.PostContent, log, TimeProvider.System, status, cache);
                _refreshing = Task.Run(() => refresher.RunAsync(starting, _stop.Token), CancellationToken.None);
            }
        }
        catch (OperationFailedException e)
        {
            log.Event($"error: {e.Message}");
            throw;
        }
    }

    /// <summary>
    /// Drains (SIGTERM): no new connections, the transfers in flight finish, up to
    /// <see cref="GatewaySettings.DrainTimeout"/>; past the host's own shutdown timeout, stops at once.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loopThread is { } loop)
        {
            _loop!.Drain(settings.DrainTimeout);
            using (cancellationToken.Register(() => loop.CancelAsync()))
            {
                await loop.JoinAsync().ConfigureAwait(false);
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _refreshing.ConfigureAwait(false);
        if (_statusServer is not null)
        {
            await _statusServer.DisposeAsync().ConfigureAwait(false);
        }
        log.Event(_loopThread?.Fault is { } fault ? $"anonGateway stopped after an internal error: {fault.Message}" : "anonGateway stopped");
    }

    public void Dispose()
    {
        _metrics?.Dispose();
        _loopThread?.Dispose();
        _loop?.Dispose();
        _downloader?.Dispose();
        _stop.Dispose();
    }
}
