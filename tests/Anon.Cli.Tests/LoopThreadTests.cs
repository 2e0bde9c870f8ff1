using Anon.Io;
using Microsoft.Extensions.Hosting;

namespace Anon.Cli.Tests;

public class LoopThreadTests
{
    [Fact]
    public async Task A_failure_the_loop_meets_stops_the_host_and_reaches_the_command_line_as_it_is()
    {
        var lifetime = new Lifetime();
        var unwritable = new FileWriteException("cannot write /nowhere/page: no such folder");
        using var loop = new LoopThread("test loop", _ => throw unwritable, lifetime);

        loop.Start();
        await loop.JoinAsync();

        Assert.True(lifetime.StopRequested);
        Assert.Same(unwritable, Assert.Throws<FileWriteException>(loop.ThrowIfFaulted));
    }

    [Fact]
    public async Task Anything_else_ending_the_loop_is_reported_as_a_bug()
    {
        using var loop = new LoopThread("test loop", _ => throw new FormatException("planted"), new Lifetime());

        loop.Start();
        await loop.JoinAsync();

        var bug = Assert.Throws<InvalidOperationException>(loop.ThrowIfFaulted);
        Assert.IsType<FormatException>(bug.InnerException);
    }

    [Fact]
    public async Task A_loop_cancelled_returns_and_leaves_nothing_to_report()
    {
        var lifetime = new Lifetime();
        using var loop = new LoopThread("test loop", stop => stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)), lifetime);

        loop.Start();
        await loop.CancelAsync();
        Task joined = loop.JoinAsync();

        Assert.Same(joined, await Task.WhenAny(joined, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.False(lifetime.StopRequested);
        Assert.Null(loop.Fault);
        loop.ThrowIfFaulted();
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public bool StopRequested { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => StopRequested = true;
    }
}
