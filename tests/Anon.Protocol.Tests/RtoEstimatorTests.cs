namespace Anon.Protocol.Tests;

public class RtoEstimatorTests
{
    private static readonly RetransmissionPolicy Wide = new()
    {
        InitialTimeout = TimeSpan.FromSeconds(1),
        MinimumTimeout = TimeSpan.FromMilliseconds(1),
        MaximumTimeout = TimeSpan.FromSeconds(60),
    };

    [Fact]
    public void Starts_at_the_initial_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), new RtoEstimator(Wide).Current);
    }

    [Fact]
    public void First_sample_sets_srtt_to_r_and_rttvar_to_half_of_it()
    {
        var rto = new RtoEstimator(Wide);
        rto.AddSample(TimeSpan.FromMilliseconds(100));

        // RFC 6298 §2.2: RTO = SRTT + 4 * RTTVAR = 100 + 4 * 50.
        Assert.Equal(TimeSpan.FromMilliseconds(100), rto.SmoothedRoundTripTime);
        Assert.Equal(TimeSpan.FromMilliseconds(50), rto.RoundTripTimeVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(300), rto.Current);
    }

    [Fact]
    public void Later_samples_are_smoothed_with_alpha_an_eighth_and_beta_a_quarter()
    {
        var rto = new RtoEstimator(Wide);
        rto.AddSample(TimeSpan.FromMilliseconds(100));
        rto.AddSample(TimeSpan.FromMilliseconds(200));

        // RFC 6298 §2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
        Assert.Equal(TimeSpan.FromMilliseconds(62.5), rto.RoundTripTimeVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(112.5), rto.SmoothedRoundTripTime);
        Assert.Equal(TimeSpan.FromMilliseconds(362.5), rto.Current);
    }

    [Fact]
    public void Backoff_doubles_up_to_the_cap_and_a_new_sample_ends_it()
    {
        var rto = new RtoEstimator(new RetransmissionPolicy { MaximumTimeout = TimeSpan.FromSeconds(1) });
        TimeSpan[] seen = new TimeSpan[7];
        for (int i = 0; i < seen.Length; i++)
        {
            seen[i] = rto.Current;
            rto.BackOff();
        }

        Assert.Equal(new[] { 200, 400, 800, 1000, 1000, 1000, 1000 }, seen.Select(t => (int)t.TotalMilliseconds));

        rto.AddSample(TimeSpan.FromMilliseconds(1));
        Assert.Equal(RetransmissionPolicy.Default.MinimumTimeout, rto.Current);
    }

    [Fact]
    public void A_seed_from_earlier_connections_replaces_the_initial_timeout()
    {
        var rto = new RtoEstimator(Wide, new RoundTripEstimate(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5)));

        Assert.Equal(TimeSpan.FromMilliseconds(30), rto.Current);
        Assert.Equal(new RoundTripEstimate(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5)), rto.Estimate);
    }

    [Fact]
    public void Contradictory_bounds_are_rejected()
    {
        var policy = new RetransmissionPolicy { MinimumTimeout = TimeSpan.FromSeconds(2), MaximumTimeout = TimeSpan.FromSeconds(1) };

        Assert.Throws<ArgumentException>(policy.Validate);
    }
}
