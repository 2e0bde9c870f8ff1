namespace Anon.Protocol;

/// <summary>
/// The bounds of the retransmission timer (RFC 6298) and of the number of tries.
/// </summary>
/// <remarks>
/// RFC 6298 was written for the Internet: it starts at 1 s (§2.1), never goes below 1 s (§2.4) and
/// caps no lower than 60 s (§2.5). This protocol runs across one local network, where a round trip
/// takes well under a millisecond and a device waits for its command, so the defaults are scaled to
/// that: the estimator still adapts (SRTT/RTTVAR, Karn's rule, doubling), only its bounds are closer.
/// Every bound is an option of both programs.
/// </remarks>
public sealed record RetransmissionPolicy
{
    /// <summary>RTO before the first round-trip sample (RFC 6298 §2.1 uses 1 s).</summary>
    public TimeSpan InitialTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Floor of the RTO (RFC 6298 §2.4 uses 1 s). Our receivers acknowledge at once, with no delayed ACK.</summary>
    public TimeSpan MinimumTimeout { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Ceiling of the backed-off RTO (RFC 6298 §2.5 allows any cap of at least 60 s). On a LAN a
    /// lost packet is noise, not congestion: each doubling past this point would only add to the
    /// wait. A path whose round trip exceeds the cap still works (its segments are sent twice); raise
    /// it for such a path.
    /// </summary>
    public TimeSpan MaximumTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How many times one packet is sent again before its sender gives up. With the defaults the
    /// last try goes out about 9.3 s after the first; at 30 % loss each way a segment gets through
    /// with probability 1 - 0.51^41, and at 50 % with 1 - 0.75^41 (99.99 %).
    /// </summary>
    public int MaximumRetransmissions { get; init; } = 40;

    public static RetransmissionPolicy Default { get; } = new();

    /// <summary>Throws when the bounds contradict each other.</summary>
    public void Validate()
    {
        if (MinimumTimeout <= TimeSpan.Zero || MinimumTimeout > MaximumTimeout)
        {
            throw new ArgumentException("the minimum RTO must be positive and no larger than the maximum");
        }

        if (InitialTimeout < MinimumTimeout || InitialTimeout > MaximumTimeout)
        {
            throw new ArgumentException("the initial RTO must lie between the minimum and the maximum");
        }

        if (MaximumRetransmissions < 0)
        {
            throw new ArgumentException("the number of retransmissions cannot be negative");
        }
    }
}
