namespace Anon.Protocol.Tests.Simulation;

/// <summary>
/// Datagrams in flight between numbered nodes, delivered in virtual time. Every random choice comes
/// from one seeded <see cref="Random"/>, so a seed replays the same run exactly.
/// </summary>
internal sealed class SimulatedNetwork(Random random, NetworkConditions conditions)
{
    private readonly PriorityQueue<Delivery, (TimeSpan At, long Order)> _inFlight = new();
    private readonly List<Func<int, SegmentHeader, int, bool>> _dropOnce = [];
    private long _order;

    public long Sent { get; private set; }

    public long Lost { get; private set; }

    public TimeSpan? NextDelivery => _inFlight.TryPeek(out _, out var key) ? key.At : null;

    /// <summary>Drops the first datagram for which <paramref name="rule"/>(sender, header, payload length) holds.</summary>
    public void DropOnce(Func<int, SegmentHeader, int, bool> rule) => _dropOnce.Add(rule);

    public void Send(int from, int to, ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        Sent++;
        if (SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            int payloadLength = datagram.Length - SegmentHeader.Size;
            int rule = _dropOnce.FindIndex(r => r(from, header, payloadLength));
            if (rule >= 0)
            {
                _dropOnce.RemoveAt(rule);
                Lost++;
                return;
            }
        }

        if (random.NextDouble() < conditions.Garbage)
        {
            Enqueue(new Delivery(from, to, RandomDatagram()), now);
        }

        if (random.NextDouble() < conditions.Loss)
        {
            Lost++;
            return;
        }

        byte[] copy = datagram.ToArray();
        Enqueue(new Delivery(from, to, copy), now);
        if (random.NextDouble() < conditions.Duplication)
        {
            Enqueue(new Delivery(from, to, copy), now);
        }
    }

    public bool TryDeliver(TimeSpan now, out Delivery delivery)
    {
        if (_inFlight.TryPeek(out delivery!, out var key) && key.At <= now)
        {
            _inFlight.Dequeue();
            return true;
        }

        return false;
    }

    private void Enqueue(Delivery delivery, TimeSpan now)
    {
        TimeSpan delay = conditions.Delay + (conditions.Jitter * random.NextDouble());
        _inFlight.Enqueue(delivery, (now + delay, _order++));
    }

    /// <summary>Random bytes, or a well-formed header with random fields: both must leave every endpoint sound.</summary>
    private byte[] RandomDatagram()
    {
        byte[] datagram = new byte[random.Next(0, 2) == 0 ? random.Next(0, 16) : SegmentHeader.Size + random.Next(0, 600)];
        random.NextBytes(datagram);
        if (datagram.Length >= SegmentHeader.Size && random.Next(0, 2) == 0)
        {
            datagram[8] = datagram[9] = datagram[10] = 0;
            datagram[11] &= 0b111;
        }

        return datagram;
    }
}

internal sealed record Delivery(int From, int To, byte[] Datagram);
