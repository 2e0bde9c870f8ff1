using System.Net;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>
/// Watch mode: fetch the page every interval (±10 %), write it and switch the LED only when it
/// changes, and back off, with jitter, while the gateway cannot be reached.
/// </summary>
internal sealed class Watcher(
    Func<CancellationToken, Transfer> fetch,
    string outputPath,
    ILed led,
    PacketLog log,
    TimeSpan interval)
{
    /// <summary>The longest wait between tries while the gateway is unreachable (or the interval, if longer).</summary>
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromMinutes(5);

    /// <summary>Runs until <paramref name="stop"/> is cancelled, then returns 0.</summary>
    /// <exception cref="CommandFailedException">The output file cannot be written or the LED cannot be driven.</exception>
    public int Run(CancellationToken stop)
    {
        byte[]? lastContent = null;
        LightCommand? applied = null;
        int failures = 0;
        log.Event($"watching: fetching every {interval.TotalSeconds:0.###} s");
        while (!stop.IsCancellationRequested)
        {
            TimeSpan wait = Spread(interval);
            try
            {
                using Transfer transfer = fetch(stop);
                if (failures > 0)
                {
                    log.Event($"the gateway answers again after {failures} failed tries");
                    failures = 0;
                }

                ReadOnlySpan<byte> content = transfer.Content.Span;
                if (lastContent is null || !content.SequenceEqual(lastContent))
                {
                    Write(content);
                    lastContent = content.ToArray();
                }

                applied = ApplyIfChanged(content, applied);
                transfer.Linger(stop);
            }
            catch (CommandFailedException e) when (e.ExitCode == ExitCodes.Unavailable && !stop.IsCancellationRequested)
            {
                wait = RetryBackoff.Next(interval, ++failures, MaximumBackoff);
                log.Event($"error: {e.Message}; trying again in {wait.TotalSeconds:0.0} s");
                Console.Error.WriteLine($"anonclient: {e.Message}; trying again in {wait.TotalSeconds:0.0} s");
            }
            catch (CommandFailedException) when (stop.IsCancellationRequested)
            {
                break; // SIGTERM in the middle of a fetch: the watch ends as on any SIGTERM, with 0
            }

            stop.WaitHandle.WaitOne(wait); // returns early on SIGTERM
        }

        log.Event("watch stopped by signal");
        return ExitCodes.Success;
    }

    /// <summary>
    /// The interval give or take 10 %, drawn anew each time: devices that start together (after a
    /// power cut, say) drift apart instead of polling the gateway in the same instant for ever.
    /// </summary>
    private static TimeSpan Spread(TimeSpan interval) => interval * (0.9 + (0.2 * Random.Shared.NextDouble()));

    private void Write(ReadOnlySpan<byte> content)
    {
        using OutputFile output = OutputFile.Create(outputPath);
        output.Commit(content);
        log.Event($"wrote {content.Length} bytes to {outputPath}");
    }

    private LightCommand? ApplyIfChanged(ReadOnlySpan<byte> content, LightCommand? applied)
    {
        if (!CommandPage.TryParse(content, out LightCommand command))
        {
            log.Event($"error: cannot parse the command: the first line is \"{CommandPage.DescribeFirstLine(content)}\"; the LED stays as it is");
            return applied;
        }

        if (command == applied)
        {
            return applied;
        }

        string state = led.Apply(command);
        log.Event($"command changed to {command.ToPageText()}: {state}");
        Console.WriteLine($"anonclient: {command.ToPageText()}: {state}");
        return command;
    }

    internal static Watcher ForGateway(IPEndPoint gateway, ClientOptions options, PacketLog log, string outputPath, ILed led, TimeSpan interval) =>
        new(stop => Transfer.Run(gateway, options, log, null, stop), outputPath, led, log, interval);
}
