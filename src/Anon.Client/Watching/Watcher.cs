using System.Net;
using Anon.Client.Delivery;
using Anon.Client.Fetching;
using Anon.Client.Signing;
using Anon.Commands;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client.Watching;

/// <summary>
/// Watch mode: fetch the page every interval (±10 %), deliver it (written and the LED switched only
/// when they change), and back off, with jitter, while the gateway cannot be reached.
/// </summary>
internal sealed class Watcher(
    Func<CancellationToken, PageFetch> fetch,
    PageDelivery delivery,
    PacketLog log,
    TimeSpan interval)
{
    /// <summary>Runs until <paramref name="stop"/> is cancelled, then returns.</summary>
    /// <exception cref="FileWriteException">The output file cannot be written.</exception>
    /// <exception cref="LedFailedException">The LED cannot be driven.</exception>
    public void Run(CancellationToken stop)
    {
        int failures = 0;
        log.Event($"watching: fetching every {interval.TotalSeconds:0.###} s");
        while (!stop.IsCancellationRequested)
        {
            TimeSpan wait = WatchSchedule.AfterSuccess(interval);
            try
            {
                using PageFetch fetched = fetch(stop);
                if (failures > 0)
                {
                    log.Event($"the gateway answers again after {failures} failed tries");
                    failures = 0;
                }

                Report(fetched.Content.Span, delivery.Deliver(fetched.Content.Span));
                fetched.Linger(stop);
            }
            catch (TransferFailedException e) when (!stop.IsCancellationRequested)
            {
                wait = WatchSchedule.AfterFailures(interval, ++failures);
                log.Event($"error: {e.Message}; trying again in {wait.TotalSeconds:0.0} s");
                Console.Error.WriteLine($"anonclient: {e.Message}; trying again in {wait.TotalSeconds:0.0} s");
            }
            catch (TransferFailedException)
            {
                break; // SIGTERM in the middle of a fetch: the watch ends as on any SIGTERM, with 0
            }
            catch (PageRefusedException e)
            {
                // The file and the LED keep the last page accepted; the next interval tries again.
                log.Event($"error: {e.Message}; the file and the LED stay as they are; trying again in {wait.TotalSeconds:0.0} s");
                Console.Error.WriteLine($"anonclient: {e.Message}; trying again in {wait.TotalSeconds:0.0} s");
            }

            stop.WaitHandle.WaitOne(wait); // returns early on SIGTERM
        }

        log.Event("watch stopped by signal");
    }

    internal static Watcher ForGateway(
        IPEndPoint gateway, ClientOptions options, PacketLog log, PageDelivery delivery, TimeSpan interval, NetworkErrors networkErrors = default, SignedFetch? signing = null) =>
        new(
            stop =>
            {
                PageFetch Fetch(IPEndPoint at) => PageFetch.Run(at, options, log, null, stop, networkErrors: networkErrors);
                return signing is null ? Fetch(gateway) : signing.Run(gateway, Fetch, log, stop);
            },
            delivery,
            log,
            interval);


    /// <summary>A page without a command leaves the LED as it is; a change of command is said once.</summary>
    private void Report(ReadOnlySpan<byte> content, Delivered delivered)
    {
        if (delivered.Command is not { } command)
        {
            log.Event($"error: {CommandPage.DescribeUnparsable(content)}; the LED stays as it is");
        }
        else if (delivered.Switched is { } state)
        {
            log.Event($"command changed to {command.ToPageText()}: {ClientWords.Led(state)}");
            Console.WriteLine($"anonclient: {command.ToPageText()}: {ClientWords.Led(state)}");
        }
    }
}
