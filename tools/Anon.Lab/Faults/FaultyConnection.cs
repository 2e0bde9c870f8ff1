namespace Anon.Lab.Faults;

/// <summary>
/// The network of one client's connection, faulty as a <see cref="FaultPlan"/> says: each datagram
/// goes through <see cref="Pass"/> on its way, is classified (<see cref="ConnectionClassifier"/>),
/// and is delivered, lost, doubled or doubled late. The one mechanism the suite's gateway, the
/// suite's client and the lossy relay share.
/// </summary>
public sealed class FaultyConnection(FaultPlan plan)
{
    private readonly ConnectionClassifier _classifier = new();
    private readonly Lock _lock = new();
    private byte[]? _lateToGateway;
    private byte[]? _lateToClient;

    /// <summary>
    /// Passes <paramref name="datagram"/> the way <paramref name="way"/>: hands it, as the faults
    /// change it, to <paramref name="deliver"/> as many times as it arrives (never, once, twice), and
    /// a copy held back from before after it. Returns what it was and whether it was lost.
    /// </summary>
    public (DatagramClass Class, bool Lost) Pass(Way way, byte[] datagram, Action<byte[]> deliver)
    {
        ArgumentNullException.ThrowIfNull(datagram);
        ArgumentNullException.ThrowIfNull(deliver);
        DatagramClass kind;
        Delivery delivery;
        byte[]? late;
        lock (_lock)
        {
            kind = _classifier.Classify(way, datagram); // as sent: a change on the way does not make it another datagram
            delivery = plan.Decide(kind);
            datagram = plan.Change(kind, datagram);
            ref byte[]? held = ref way == Way.ToGateway ? ref _lateToGateway : ref _lateToClient;
            late = held;
            held = delivery.CopyLate ? datagram : null;
        }

        for (int copy = 0; copy < delivery.Copies; copy++)
        {
            deliver(datagram);
        }

        if (late is not null)
        {
            deliver(late);
        }

        return (kind, delivery.Copies == 0);
    }
}
