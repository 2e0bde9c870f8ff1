using Anon.Cli;
using Anon.Io;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Anon.Client.Watching;

/// <summary>
/// Watch mode as a hosted service (Microsoft.Extensions.Hosting): under systemd with
/// <c>Type=notify</c> it reports READY=1 once watching and STOPPING=1 on SIGTERM, which ends the
/// watch within the current fetch's bounds.
/// </summary>
internal sealed class WatchService(Watcher watcher, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly LoopThread _watch = new("anonclient watch", watcher.Run, lifetime);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _watch.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _watch.CancelAsync().ConfigureAwait(false);
        await _watch.JoinAsync().ConfigureAwait(false);
    }

    public void Dispose() => _watch.Dispose();

    /// <summary>Runs <paramref name="watcher"/> in a host until SIGTERM or SIGINT.</summary>
    /// <exception cref="OperationFailedException">What ended the watch on its own: an unwritable file, a GPIO failure.</exception>
    public static void Run(Watcher watcher)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSystemd();
        builder.Services.AddSingleton(watcher);
        builder.Services.AddSingleton<WatchService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WatchService>());
        using IHost host = builder.Build();
        WatchService service = host.Services.GetRequiredService<WatchService>();
        host.Run(); // disposes the host when it returns
        service._watch.ThrowIfFaulted();
    }
}
