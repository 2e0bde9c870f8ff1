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
    private readonly CancellationTokenSource _stop = new();
    private Thread? _loop;

    /// <summary>Why the watch ended on its own (an unwritable file, a GPIO failure), if it did.</summary>
    public Exception? Fault { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = new Thread(Watch) { Name = "anonclient watch", IsBackground = true };
        _loop.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _loop?.Join();
    }

    public void Dispose() => _stop.Dispose();

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
        switch (service.Fault)
        {
            case null:
                return;
            case OperationFailedException failure:
                throw failure;
            case Exception other:
                throw new InvalidOperationException(other.Message, other);
        }
    }

    private void Watch()
    {
        try
        {
            watcher.Run(_stop.Token);
        }
#pragma warning disable CA1031 // Whatever ends the watch is reported by Run, with its exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fault = e;
            lifetime.StopApplication();
        }
    }
}
