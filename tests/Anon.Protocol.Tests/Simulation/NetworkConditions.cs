namespace Anon.Protocol.Tests.Simulation;

/// <summary>What the simulated network does to each datagram, independently in each direction.</summary>
/// <param name="Loss">Probability that a datagram is dropped.</param>
/// <param name="Duplication">Probability that a delivered datagram arrives twice.</param>
/// <param name="Delay">Fixed one-way delay.</param>
/// <param name="Jitter">Extra random delay, up to this much; larger than the gap between datagrams, it reorders them.</param>
/// <param name="Garbage">Probability, per datagram sent, that a random datagram is also injected toward the same node.</param>
public sealed record NetworkConditions(
    double Loss = 0,
    double Duplication = 0,
    TimeSpan Delay = default,
    TimeSpan Jitter = default,
    double Garbage = 0)
{
    public static NetworkConditions Perfect { get; } = new(Delay: TimeSpan.FromMilliseconds(0.2));

    public override string ToString() =>
        $"loss {Loss:P0}, duplication {Duplication:P0}, delay {Delay.TotalMilliseconds} ms + jitter {Jitter.TotalMilliseconds} ms, garbage {Garbage:P0}";
}
