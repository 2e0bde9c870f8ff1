namespace Anon.Io;

/// <summary>
/// When a watching device fetches next: the interval give or take 10 % after a fetch that worked,
/// and <see cref="RetryBackoff"/> after failures. In one place so that the load generator's
/// simulated fleet (<c>anon-load storm</c>) follows the client's own rule.
/// </summary>
public static class WatchSchedule
{
    /// <summary>The longest wait between tries while the gateway is unreachable (or the interval, if longer).</summary>
    public static readonly TimeSpan MaximumBackoff = TimeSpan.FromMinutes(5);

    /// <summary>How far each wait strays from the interval, either way.</summary>
    public const double Jitter = 0.10;

    /// <summary>
    /// The interval give or take <see cref="Jitter"/>, drawn anew each time: devices that start
    /// together (after a power cut, say) drift apart instead of polling the gateway in the same
    /// instant for ever.
    /// </summary>
    public static TimeSpan AfterSuccess(TimeSpan interval, Random? random = null) =>
        interval * (1 - Jitter + (2 * Jitter * (random ?? Random.Shared).NextDouble()));

    /// <summary>After <paramref name="failures"/> failed fetches in a row: backs off, with jitter.</summary>
    public static TimeSpan AfterFailures(TimeSpan interval, int failures, Random? random = null) =>
        RetryBackoff.Next(interval, failures, MaximumBackoff, random);
}
