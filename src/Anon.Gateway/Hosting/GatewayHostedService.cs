using System.Net;
using System.Text;
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

    /// <summary>The signature's own loop, on <c>--signature-port</c>, and its thread.</summary>
    private (GatewayLoop Loop, LoopThread Thread)? _signature;
    private Task _refreshing = Task.CompletedTask;

    private static readonly string ProgramVersion = typeof(GatewayHostedService).Assembly.GetName().Version?.ToString(3) ?? "";

    /// <summary>After the host has stopped: throws what ended the socket loop, if anything did.</summary>
    public void ThrowIfFaulted()
    {
        _loopThread?.ThrowIfFaulted();
        _signature?.Thread.ThrowIfFaulted();
    }

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

            var endpoint = new GatewayEndpoint(first.Content, NewCookies(), settings.Options);
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
            boundTo = boundTo is null || boundTo.Equals(IPAddress.Any) || boundTo.Equals(IPAddress.IPv6Any) ? null : boundTo;
            string address = boundTo is null ? "" : $" of {boundTo}";
            string listening = $"serving {first.Content.Length} bytes ({command}) from {settings.Url}; listening on UDP port {_loop.LocalEndPoint.Port}{address}";
            log.Event(listening);
            Console.WriteLine($"anonGateway: {listening}");
            if (settings.SignaturePort is { } signaturePort)
            {
                // The same protocol on a port of its own, so that the page's port serves the page alone,
                // as every client of the spec expects. Same address, same allow list.
                var signatureLoop = new GatewayLoop(
                    GatewaySocket.Bind(signaturePort, boundTo),
                    new GatewayEndpoint(SignatureOf(first), NewCookies(), settings.Options),
                    new GatewayReporter(log, eventPrefix: "signature port: "),
                    allowed: settings.Allowed);
                _signature = (signatureLoop, new LoopThread("anonGateway signature loop", signatureLoop.Run, lifetime));
                string signing = $"serving the page's signature ({SignatureOf(first).Length} bytes, signed at {UtcTime.Of(first.SignedAt!.Value)}) on UDP port {signatureLoop.LocalEndPoint.Port}{address}";
                log.Event(signing);
                Console.WriteLine($"anonGateway: {signing}");
            }

            if (_statusServer is not null)
            {
                Console.WriteLine($"anonGateway: status page at {_statusServer.Address}");
            }

            Console.Out.Flush();

            _loopThread = new LoopThread("anonGateway UDP loop", _loop.Run, lifetime);
            _loopThread.Start();
            _signature?.Thread.Start();
            if (settings.Refresh > TimeSpan.Zero)
            {
                var refresher = new PageRefresher(source, settings.Refresh, Publish, log, TimeProvider.System, status, cache);
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
            _signature?.Loop.Drain(settings.DrainTimeout);
            using (cancellationToken.Register(() => { loop.CancelAsync(); _signature?.Thread.CancelAsync(); }))
            {
                await Task.WhenAll(loop.JoinAsync(), _signature?.Thread.JoinAsync() ?? Task.CompletedTask).ConfigureAwait(false);
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _refreshing.ConfigureAwait(false);
        if (_statusServer is not null)
        {
            await _statusServer.DisposeAsync().ConfigureAwait(false);
        }
        log.Event((_loopThread?.Fault ?? _signature?.Thread.Fault) is { } fault ? $"anonGateway stopped after an internal error: {fault.Message}" : "anonGateway stopped");
    }

    public void Dispose()
    {
        _metrics?.Dispose();
        _loopThread?.Dispose();
        _loop?.Dispose();
        _signature?.Thread.Dispose();
        _signature?.Loop.Dispose();
        _downloader?.Dispose();
        _stop.Dispose();
    }

    private ISynCookieGenerator NewCookies() => settings.InitialSequence is { } isn
        ? new FixedSynCookie(new SequenceNumber(isn))
        : KeyedSynCookies.CreateRandom();

    /// <summary>A refreshed page to new connections, with its signature on the signature's port: the two switch together.</summary>
    private void Publish(PageVersion page)
    {
        _signature?.Loop.PostContent(SignatureOf(page));
        _loop!.PostContent(page.Content);
    }

    /// <summary>The signature file's bytes, as downloaded (it was read as UTF-8, which a signature that verified is).</summary>
    private static byte[] SignatureOf(PageVersion page) => Encoding.UTF8.GetBytes(page.Signature ?? "");
}
