namespace Anon.Protocol;

/// <summary>
/// Deadlines of many owners (the gateway's connections) in one priority queue, each owner with at
/// most one live entry: what the endpoint's <see cref="GatewayEndpoint.PollTimeout"/> and
/// <see cref="GatewayEndpoint.HandleTimeout"/> run on.
/// </summary>
/// <remarks>
/// Moving a deadline later costs no queue operation: the live entry stays, comes due early, and
/// the owner re-arms it for its new deadline then (<see cref="TryTakeDue"/> hands it back). A
/// stop-and-wait sender moves its deadline at every acknowledgment, so a transfer costs about one
/// queue operation per RTO, not one per segment. An entry replaced by an earlier one, or whose owner
/// was cancelled, is skipped when it surfaces.
/// </remarks>
internal sealed class TimerQueue<T>
    where T : class
{
    private readonly PriorityQueue<T, TimeSpan> _queue = new();
    // The deadline of each owner's live entry; any other entry of that owner in the queue is stale.
    private readonly Dictionary<T, TimeSpan> _live = new(ReferenceEqualityComparer.Instance);

    public int Count => _live.Count;

    /// <summary>Entries in the queue, live and stale: each stale one leaves when it comes due.</summary>
    public int QueuedEntries => _queue.Count;

    /// <summary>The earliest live deadline, or a stale one before it (early, never late); null when nothing waits.</summary>
    public TimeSpan? NextDeadline => _queue.TryPeek(out _, out TimeSpan due) ? due : null;

    /// <summary>Makes sure <paramref name="owner"/> is woken no later than <paramref name="due"/>.</summary>
    public void Arm(T owner, TimeSpan due)
    {
        if (_live.TryGetValue(owner, out TimeSpan queued) && queued <= due)
        {
            return; // the live entry fires first; its owner re-arms then for the later time
        }

        _live[owner] = due; // an older, later entry becomes stale
        _queue.Enqueue(owner, due);
    }

    /// <summary>Forgets <paramref name="owner"/>: its entries are skipped from now on.</summary>
    public void Cancel(T owner) => _live.Remove(owner);

    /// <summary>Takes the next owner whose live entry is due at <paramref name="now"/>; it has no entry afterwards.</summary>
    public bool TryTakeDue(TimeSpan now, out T owner)
    {
        while (_queue.TryPeek(out T? next, out TimeSpan due) && due <= now)
        {
            _queue.Dequeue();
            if (_live.TryGetValue(next, out TimeSpan live) && live == due)
            {
                _live.Remove(next);
                owner = next;
                return true;
            }
        }

        owner = null!;
        return false;
    }
}
