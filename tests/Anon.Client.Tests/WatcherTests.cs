using Anon.Client.Delivery;
using Anon.Client.Watching;
using Anon.Io;

namespace Anon.Client.Tests;

public sealed class WatcherTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anon-watch-").FullName;

    [Fact]
    public void A_sigterm_in_the_middle_of_a_fetch_ends_the_watch_with_0()
    {
        // The fetch is cut by the stop itself: PageFetch.Run then reports "stopped by signal", which
        // must end the watch as any other SIGTERM does (Run returns: exit code 0), not as a failed
        // fetch to retry or a failure that escapes.
        using var stop = new CancellationTokenSource();
        using PacketLog log = PacketLog.Open(Path.Combine(_directory, "c.log"));
        using PageDelivery delivery = PageDelivery.Open(Path.Combine(_directory, "out.txt"), new SimulatedLed(), log);
        int fetches = 0;
        var watcher = new Watcher(
            token =>
            {
                fetches++;
                stop.Cancel();
                throw new TransferFailedException("stopped by signal before the transfer completed", failure: null);
            },
            delivery, log, TimeSpan.FromSeconds(1));

        watcher.Run(stop.Token);

        Assert.Equal(1, fetches);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
