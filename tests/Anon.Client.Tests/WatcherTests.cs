using Anon.Io;

namespace Anon.Client.Tests;

public sealed class WatcherTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anon-watch-").FullName;

    [Fact]
    public void A_sigterm_in_the_middle_of_a_fetch_ends_the_watch_with_0()
    {
        // The fetch is cut by the stop itself: Transfer.Run then reports "stopped by signal", which
        // must end the watch as any other SIGTERM does, not as a failed fetch (exit code 69).
        using var stop = new CancellationTokenSource();
        using PacketLog log = PacketLog.Open(Path.Combine(_directory, "c.log"));
        var watcher = new Watcher(
            token =>
            {
                stop.Cancel();
                throw new CommandFailedException(ExitCodes.Unavailable, "stopped by signal before the transfer completed");
            },
            Path.Combine(_directory, "out.txt"), new SimulatedLed(), log, TimeSpan.FromSeconds(1));

        Assert.Equal(ExitCodes.Success, watcher.Run(stop.Token));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
