using System.Net;
using Anon.Gateway.Observability;
using Anon.Gateway.Page;
using Anon.Gateway.Udp;
using Anon.Io;
using Anon.Protocol;
using Microsoft.Extensions.Hosting;

namespace Anon.Gateway.Hosting;

/// <summary>
/// The gateway as a hosted service. Starting downloads the page and binds the socket, so that
/// "started" (systemd's READY=1 under <c>Type=notify</c>) means "serving"; the socket loop then runs
/// on a thread of its own; stopping (SIGTERM) ends it within 200 ms, abandoning transfers in flight,
/// whose clients will retry.
/// </summary>
public sealed class GatewayHostedService(GatewaySettings settings, PacketLog log, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private PageDownloader? _downloader;
    private GatewayLoop? _loop;
    private GatewayMetrics? _metrics;
    private StatusServer? _statusServer;
    private Thread? _loopThread;
    private Task _refreshing = Task.CompletedTask;

    private static readonly string ProgramVersion = typeof(GatewayHostedService).Assembly.GetName().Version?.ToString(3) ?? "";

    /// <summary>An unexpected failure of the socket loop, reported when the host has stopped.</summary>
    public Exception? Fault { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        log.Event($"anonGateway starting: downloading {settings.Url}");
        try
        {
            _downloader = new PageDownloader(
                settings.MaximumPageSize, trustedAuthorities: settings.CaFile is null ? null : PageDownloader.LoadAuthorities(settings.CaFile));
            PageVersion first = await _downloader.DownloadAsync(settings.Url, cancellationToken).ConfigureAwait(false);
            string command = PageRefresher.Describe(first.Content);
            log.Event($"downloaded {first.Content.Length} bytes: {command}");

            ISynCookieGenerator cookies = settings.InitialSequence is { } isn
                ? new FixedSynCookie(new SequenceNumber(isn))
                : KeyedSynCookies.CreateRandom();
            var endpoint = new GatewayEndpoint(first.Content, cookies, settings.Options);
            System.Net.Sockets.Socket socket = GatewaySocket.Bind(settings.Port, settings.BindAddress);
            StatusBoard? status = null;
            if (settings.StatusEndPoint is { } statusEndPoint)
            {
                status = new StatusBoard(ProgramVersion, ((IPEndPoint)socket.LocalEndPoint!).Port, TimeProvider.System);
                status.PageFetched(settings.Url, first.Content);
                _statusServer = await StatusServer.StartAsync(statusEndPoint, status, cancellationToken).ConfigureAwait(false);
                log.Event($"status page at {_statusServer.Address}");
            }

            _metrics = new GatewayMetrics();
            _loop = new GatewayLoop(socket, endpoint, new GatewayReporter(log, status, _metrics), allowed: settings.Allowed);

            string address = settings.BindAddress is null ? "" : $" of {settings.BindAddress}";
            string listening = $"serving {first.Content.Length} bytes ({command}) from {settings.Url}; listening on UDP port {_loop.LocalEndPoint.Port}{address}";
            log.Event(listening);
            Console.WriteLine($"anonGateway: {listening}");
            if (_statusServer is not null)
            {
                Console.WriteLine($"anonGateway: status page at {_statusServer.Address}");
            }

            Console.Out.Flush();

            _loopThread = new Thread(RunLoop) { Name = "anonGateway UDP loop", IsBackground = true };
            _loopThread.Start();
            if (settings.Refresh > TimeSpan.Zero)
            {
                var refresher = new PageRefresher(_downloader, settings.Url, settings.Refresh, _loop.PostContent, log, TimeProvider.System, status);
                _refreshing = Task.Run(() => refresher.RunAsync(first, _stop.Token), CancellationToken.None);
            }
        }
        catch (OperationFailedException e)
        {
            log.Event($"error: {e.Message}");
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _loopThread?.Join();
        await _refreshing.ConfigureAwait(false);
        if (_statusServer is not null)
        {
            await _statusServer.DisposeAsync().ConfigureAwait(false);
        }
        log.Event(Fault is null ? "anonGateway stopped" : $"anonGateway stopped after an internal error: {Fault.Message}");
    }

    public void Dispose()
    {
        _metrics?.Dispose();
        _loop?.Dispose();
        _downloader?.Dispose();
        _stop.Dispose();
    }

    private void RunLoop()
    {
        try
        {
            _loop!.Run(_stop.Token);
        }
#pragma warning disable CA1031 // A bug in the loop must end the process with a message and code 70, not a crash dump.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fault = e;
            lifetime.StopApplication();
        }
    }
}
