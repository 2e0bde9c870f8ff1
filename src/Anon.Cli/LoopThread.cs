using System.Runtime.ExceptionServices;
using Anon.Io;
using Microsoft.Extensions.Hosting;

namespace Anon.Cli;

/// <summary>
/// A program's long-running loop (the gateway's socket loop, the client's watch) on a thread of its
/// own under a host: a blocking loop must not hold a thread-pool thread. Whatever ends the loop
/// with an exception stops the host and is kept, for <see cref="ThrowIfFaulted"/> to hand to the
/// command line once the host has stopped, which turns it into one line and an exit code.
/// </summary>
public sealed class LoopThread(string name, Action<CancellationToken> loop, IHostApplicationLifetime lifetime) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;

    /// <summary>What ended the loop, if an exception did.</summary>
    public Exception? Fault { get; private set; }

    public void Start()
    {
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Cancels the loop's token: it returns within its own bounds.</summary>
    public Task CancelAsync() => _stop.CancelAsync();

    /// <summary>Waits for the loop to return, without blocking the caller's thread.</summary>
    public Task JoinAsync() => _thread is { } thread ? Task.Run(thread.Join, CancellationToken.None) : Task.CompletedTask;

    /// <summary>
    /// After the host has stopped: a failure the loop met (an <see cref="OperationFailedException"/>,
    /// such as an unwritable file) is thrown as it is; anything else is a bug, thrown as one.
    /// </summary>
    public void ThrowIfFaulted()
    {
        switch (Fault)
        {
            case null:
                return;
            case OperationFailedException failure:
                ExceptionDispatchInfo.Throw(failure);
                break;
            case Exception other:
                throw new InvalidOperationException(other.Message, other);
        }
    }

    public void Dispose() => _stop.Dispose();

    private void Run()
    {
        try
        {
            loop(_stop.Token);
        }
#pragma warning disable CA1031 // Whatever ends the loop is reported by ThrowIfFaulted, with its exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fault = e;
            lifetime.StopApplication();
        }
    }
}
