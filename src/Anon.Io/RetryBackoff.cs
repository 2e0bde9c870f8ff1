namespace Anon.Io;

/// <summary>How long to wait before trying again after failures: the interval doubled per failure, capped, with jitter.</summary>
public static class RetryBackoff
{
    /// <param name="interval">The wait after the first failure, before jitter.</param>
    /// <param name="failures">Failures in a row so far, 1 or more.</param>
    /// <param name="maximum">The cap before jitter (or the interval, if longer).</param>
    /// <returns>
    /// The delay times a random factor in [0.5, 1.5), so that many devices (or one gateway's
    /// refreshes) that failed together do not retry together.
    /// </returns>
    /// <param name="random">The source of the jitter; by default the shared one.</param>
    public static TimeSpan Next(TimeSpan interval, int failures, TimeSpan maximum, Random? random = null)
    {
        TimeSpan cap = interval > maximum ? interval : maximum;
        double factor = Math.Pow(2, Math.Clamp(failures - 1, 0, 20));
        TimeSpan delay = TimeSpan.FromTicks((long)Math.Min(cap.Ticks, interval.Ticks * factor));
        return delay * (0.5 + (random ?? Random.Shared).NextDouble());
    }
}
