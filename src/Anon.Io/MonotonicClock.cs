namespace Anon.Io;

/// <summary>"Now" for the sans-IO core: time elapsed since the clock was made, never going backwards.</summary>
public sealed class MonotonicClock(TimeProvider time)
{
    private readonly long _start = time.GetTimestamp();

    public TimeSpan Now => time.GetElapsedTime(_start);
}
