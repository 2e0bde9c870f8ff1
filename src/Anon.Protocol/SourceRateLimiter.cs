namespace Anon.Protocol;

/// <summary>
/// Limits how fast one source address may open connections, in fixed memory: a table of token
/// buckets indexed by a hash of the address (the port left out: one host can use many ports). Two
/// addresses that share a bucket share its budget, which makes the limit stricter for them, never
/// looser; and the table does not grow, whatever number of addresses an attacker uses.
/// </summary>
public sealed class SourceRateLimiter
{
    private const int BucketCount = 4096;

    private readonly double _ratePerSecond;
    private readonly double _burst;
    private readonly double[] _tokens = new double[BucketCount];
    private readonly TimeSpan[] _updated = new TimeSpan[BucketCount];
    private readonly bool[] _used = new bool[BucketCount];

    /// <param name="ratePerSecond">New connections a source may open per second, sustained.</param>
    /// <param name="burst">How many it may open at once after a quiet spell.</param>
    public SourceRateLimiter(double ratePerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        _ratePerSecond = ratePerSecond;
        _burst = burst;
    }

    /// <summary>Takes one token for <paramref name="source"/>; false when its budget is spent.</summary>
    public bool TryAcquire(PeerAddress source, TimeSpan now)
    {
        // HashCode is seeded per process, so the buckets cannot be aimed at.
        int bucket = (int)((uint)HashCode.Combine(source.Host) % BucketCount);
        double tokens = _used[bucket]
            ? Math.Min(_burst, _tokens[bucket] + ((now - _updated[bucket]).TotalSeconds * _ratePerSecond))
            : _burst;
        _used[bucket] = true;
        _updated[bucket] = now;
        if (tokens < 1)
        {
            _tokens[bucket] = tokens;
            return false;
        }

        _tokens[bucket] = tokens - 1;
        return true;
    }
}
