using System.Net;
using Anon.Gateway.Observability;
using Anon.Gateway.Page;
using Anon.Gateway.Udp;
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
            PageCache? cache = settings.CacheDirectory is { Length: > 0 } directory ? new PageCache(directory) : null;
            var source = new PageSource(_downloader, settings.Url, settings.Signing, TimeProvider.System, settings.RequireCommand);
            (PageVersion first, CachedPage? cached, string? upstreamError) = await FirstPageAsync(source, cache, cancellationToken).ConfigureAwait(false);
            string command = CommandPage.Describe(first.Content);
            if (!CommandPage.TryParse(first.Content, out _))
            {
                // Served all the same (the spec's devices report it, exit code 65), but never in silence.
                string warning = $"warning: the page's first line is \"{CommandPage.DescribeFirstLine(first.Content)}\", not a command: the devices will refuse it (--require-command refuses it here)";
                log.Event(warning);
                Console.Error.WriteLine($"anonGateway: {warning}");
            }

            ISynCookieGenerator cookies = settings.InitialSequence is { } isn
                ? new FixedSynCookie(new SequenceNumber(isn))
                : KeyedSynCookies.CreateRandom();
            var endpoint = new GatewayEndpoint(first.Content, cookies, settings.Options);
            System.Net.Sockets.Socket? passed = GatewaySocket.FromSystemd();
            System.Net.Sockets.Socket socket = passed is not null
                ? Activated(passed)
                : GatewaySocket.Bind(settings.Port, settings.BindAddress);
            var status = new StatusBoard(ProgramVersion, ((IPEndPoint)socket.LocalEndPoint!).Port, TimeProvider.System);
            if (cached is not null)
            {
                status.PageFromCache(settings.Url, first.Content, cached.FetchedAt, upstreamError!);
            }
            else
            {
                status.PageFetched(settings.Url, first.Content);
            }

            _metrics = new GatewayMetrics(status);
            if (settings.StatusEndPoint is { } statusEndPoint)
            {
                _statusServer = await StatusServer.StartAsync(statusEndPoint, status, cancellationToken).ConfigureAwait(false);
                log.Event($"status page at {_statusServer.Address}");
            }

            _loop = new GatewayLoop(socket, endpoint, new GatewayReporter(log, status, listConnections: _statusServer is not null), allowed: settings.Allowed);

            // The address the socket is bound to, when it is one: --bind's, or the passed socket's when systemd passed one.
            IPAddress? boundTo = passed is not null ? _loop.LocalEndPoint.Address : settings.BindAddress;
            string address = boundTo is null || boundTo.Equals(IPAddress.Any) || boundTo.Equals(IPAddress.IPv6Any) ? "" : $" of {boundTo}";
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
                var refresher = new PageRefresher(source, settings.Refresh, _loop.PostContent, log, TimeProvider.System, status, cache);
                _refreshing = Task.Run(() => refresher.RunAsync(first, upstreamFailed: cached is not null, _stop.Token), CancellationToken.None);
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
            using (cancellationToken.Register(_stop.Cancel))
            {
                await Task.Run(loop.Join, CancellationToken.None).ConfigureAwait(false);
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
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

    /// <summary>
    /// The page to start with: downloaded (and kept in the cache), or, when upstream fails, the
    /// cached copy if it is no older than <c>--max-stale</c>. Under <c>--page-key</c> both must pass
    /// the signature check, and a download must not be older than the cached copy it replaces.
    /// </summary>
    /// <exception cref="DownloadFailedException">Upstream failed and no usable cached copy is kept.</exception>
    /// <exception cref="PageRefusedException">Under --page-key, the downloaded page is refused.</exception>
    private async Task<(PageVersion Page, CachedPage? Cached, string? UpstreamError)> FirstPageAsync(
        PageSource source, PageCache? cache, CancellationToken cancellationToken)
    {
        string? whyNone = null;
        CachedPage? cached = cache?.Load(settings.Url, out whyNone);
        if (cached is not null)
        {
            try
            {
                cached = cached with { Page = source.Recheck(cached.Page) };
            }
            catch (PageRefusedException e)
            {
                (cached, whyNone) = (null, $"the cached copy is not served: {e.Message}");
            }
        }

        try
        {
            PageVersion page = await source.DownloadAsync(lastAccepted: cached?.Page, cancellationToken).ConfigureAwait(false);
            log.Event($"downloaded {page.Content.Length} bytes: {CommandPage.Describe(page.Content)}{(page.SignedAt is { } signedAt ? $", signed at {UtcTime.Of(signedAt)}" : "")}");
            if (cache?.SaveOrWarn(settings.Url, page, DateTimeOffset.UtcNow, log) is { } warning)
            {
                Console.Error.WriteLine($"anonGateway: {warning}");
            }

            return (page, null, null);
        }
        catch (DownloadFailedException e) when (cache is not null)
        {
            if (cached is null)
            {
                throw new DownloadFailedException($"{e.Message}; {whyNone}", e);
            }

            TimeSpan age = DateTimeOffset.UtcNow - cached.FetchedAt;
            if (age > settings.MaxStale)
            {
                throw new DownloadFailedException(
                    $"{e.Message}; the cached copy was fetched {Ago(age)} ago, longer than --max-stale {settings.MaxStale.TotalSeconds:0} s allows", e);
            }

            string serving = $"upstream failed ({e.Message}): serving the copy kept in {cache.FilePath}, fetched {UtcTime.Of(cached.FetchedAt)} ({Ago(age)} ago), and trying upstream again";
            log.Event(serving);
            Console.Error.WriteLine($"anonGateway: {serving}");
            return (cached.Page, cached, e.Message);
        }
    }

    private static string Ago(TimeSpan age) => age.TotalHours >= 2 ? $"{age.TotalHours:0.#} h" : $"{Math.Max(0, age.TotalSeconds):0} s";

    private System.Net.Sockets.Socket Activated(System.Net.Sockets.Socket socket)
    {
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        log.Event($"using the UDP socket systemd passed (socket activation, LISTEN_FDS), bound to {socket.LocalEndPoint}");
        if (port != settings.Port && settings.Port != 0)
        {
            log.Event($"note: --port {settings.Port} is ignored: the passed socket is on port {port}");
        }

        if (settings.BindAddress is { } bind && !bind.Equals(((IPEndPoint)socket.LocalEndPoint!).Address))
        {
            // Said on stderr too (the journal): the gateway then serves every address the socket does.
            string note = $"note: --bind {bind} is ignored: the socket systemd passed is bound to {socket.LocalEndPoint} (give its address in anon-gateway.socket's ListenDatagram=)";
            log.Event(note);
            Console.Error.WriteLine($"anonGateway: {note}");
        }

        return socket;
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
