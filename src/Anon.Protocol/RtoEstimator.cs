namespace Anon.Protocol;

/// <summary>
/// The retransmission timeout of one connection, computed as RFC 6298 says.
/// </summary>
public sealed class RtoEstimator
{
    // RFC 6298 §2.3: alpha = 1/8, beta = 1/4; §2.2: K = 4.
    private const double Alpha = 1.0 / 8;
    private const double Beta = 1.0 / 4;
    private const int K = 4;

    private readonly RetransmissionPolicy _policy;

    /// <param name="seed">
    /// An estimate carried over from earlier connections to the same network (RFC 9040 §5.1,
    /// temporal sharing), used instead of the initial RTO; null to start from the initial RTO.
    /// </param>
    public RtoEstimator(RetransmissionPolicy policy, RoundTripEstimate? seed = null)
    {
        _policy = policy;
        Current = policy.InitialTimeout;
        if (seed is { } estimate)
        {
            SmoothedRoundTripTime = estimate.Smoothed;
            RoundTripTimeVariation = estimate.Variation;
            Current = Clamp(estimate.Smoothed + (K * estimate.Variation));
        }
    }

    /// <summary>The timeout to arm for the next (re)transmission, backoff included.</summary>
    public TimeSpan Current { get; private set; }

    /// <summary>SRTT, or null before the first sample.</summary>
    public TimeSpan? SmoothedRoundTripTime { get; private set; }

    public TimeSpan RoundTripTimeVariation { get; private set; }

    /// <summary>SRTT and RTTVAR, or null before the first sample.</summary>
    public RoundTripEstimate? Estimate =>
        SmoothedRoundTripTime is { } smoothed ? new RoundTripEstimate(smoothed, RoundTripTimeVariation) : null;

    /// <summary>
    /// Takes a round-trip measurement. Per Karn's rule (RFC 6298 §3) the caller passes only samples
    /// from packets that were sent exactly once. A fresh sample also ends any backoff (§5.7's intent:
    /// the backed-off RTO holds only until a non-retransmitted packet is acknowledged).
    /// </summary>
    public void AddSample(TimeSpan roundTripTime)
    {
        if (roundTripTime < TimeSpan.Zero)
        {
            roundTripTime = TimeSpan.Zero;
        }

        if (SmoothedRoundTripTime is not { } smoothed)
        {
            // §2.2: the first measurement R gives SRTT = R, RTTVAR = R/2.
            SmoothedRoundTripTime = roundTripTime;
            RoundTripTimeVariation = roundTripTime / 2;
        }
        else
        {
            // §2.3: RTTVAR first, using the old SRTT, then SRTT.
            TimeSpan error = (smoothed - roundTripTime).Duration();
            RoundTripTimeVariation = ((1 - Beta) * RoundTripTimeVariation) + (Beta * error);
            SmoothedRoundTripTime = ((1 - Alpha) * smoothed) + (Alpha * roundTripTime);
        }

        Current = Clamp(SmoothedRoundTripTime.Value + (K * RoundTripTimeVariation));
    }

    /// <summary>
    /// The timer expired: double the RTO up to the cap (RFC 6298 §5.5). The backed-off value stays
    /// until the next valid sample (Karn's algorithm), not just until the next acknowledgment.
    /// </summary>
    public void BackOff() => Current = Clamp(Current * 2);

    private TimeSpan Clamp(TimeSpan timeout) =>
        timeout < _policy.MinimumTimeout ? _policy.MinimumTimeout
        : timeout > _policy.MaximumTimeout ? _policy.MaximumTimeout
        : timeout;
}

/// <summary>SRTT and RTTVAR of RFC 6298.</summary>
public readonly record struct RoundTripEstimate(TimeSpan Smoothed, TimeSpan Variation);
