namespace Anon.Gateway.Observability;

/// <summary>
/// A token bucket for log lines about traffic outside any connection (SYNs, their SYN|ACKs, dropped
/// datagrams): anyone can send those, so without a bound an attacker could fill the disk. Lines past
/// the budget are counted and reported as one line a second instead.
/// </summary>
internal sealed class LogBudget(int linesPerSecond)
{
    private double _tokens = linesPerSecond;
    private TimeSpan _updated;

    /// <summary>Lines skipped since <see cref="TakeSkipped"/> last ran.</summary>
    public long Skipped { get; private set; }

    public bool TryTake(TimeSpan now)
    {
        _tokens = Math.Min(linesPerSecond, _tokens + ((now - _updated).TotalSeconds * linesPerSecond));
        _updated = now;
        if (_tokens >= 1)
        {
            _tokens--;
            return true;
        }

        Skipped++;
        return false;
    }

    public long TakeSkipped()
    {
        long skipped = Skipped;
        Skipped = 0;
        return skipped;
    }
}
