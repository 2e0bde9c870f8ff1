namespace Anon.LoadGenerator;

/// <summary>
/// What goes wrong for the batched sessions, from a seeded generator: datagrams lost each way, and
/// devices that go away after their first segment (half of them restarting from the same address
/// with a new ISN, half never coming back).
/// </summary>
/// <param name="Loss">The probability that a datagram is lost, each way.</param>
/// <param name="Abandon">The share of transfers the device abandons after its first segment.</param>
internal sealed record SessionFaults(double Loss, double Abandon, int Seed)
{
    public static SessionFaults None { get; } = new(0, 0, 1);
}
