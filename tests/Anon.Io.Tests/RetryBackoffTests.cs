namespace Anon.Io.Tests;

public class RetryBackoffTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 8)]
    [InlineData(9, 60)]   // 256 s, capped at 60
    [InlineData(500, 60)] // no overflow however long the outage
    public void Doubles_per_failure_up_to_the_cap_with_jitter_of_half_either_way(int failures, double expectedSeconds)
    {
        for (int i = 0; i < 200; i++)
        {
            double seconds = RetryBackoff.Next(Second, failures, TimeSpan.FromMinutes(1)).TotalSeconds;
            Assert.InRange(seconds, 0.5 * expectedSeconds, 1.5 * expectedSeconds);
        }
    }

    [Fact]
    public void An_interval_longer_than_the_cap_is_kept()
    {
        double seconds = RetryBackoff.Next(TimeSpan.FromMinutes(10), 3, TimeSpan.FromMinutes(5)).TotalSeconds;

        Assert.InRange(seconds, 300, 900);
    }
}
