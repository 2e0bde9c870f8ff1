using System.Numerics;
using System.Runtime.CompilerServices;

namespace Anon.Protocol;

/// <summary>
/// How many datagrams were dropped for each <see cref="DropReason"/>. A value: copying it copies the
/// counts, so a snapshot of the statistics holding it is a snapshot of these too. Counting allocates
/// nothing.
/// </summary>
public struct DropCounts
{
    /// <summary>One count per reason: the last reason's number plus one (BoundsAndCountersTests checks every reason fits).</summary>
    internal const int Length = (int)DropReason.DataAfterFin + 1;

    private Counts _counts;

    /// <summary>Datagrams dropped for <paramref name="reason"/>.</summary>
    public readonly long this[DropReason reason] => _counts[(int)reason];

    /// <summary>Every datagram dropped, whatever the reason.</summary>
    public long Total { readonly get; private set; }

    /// <summary>The reasons either side can give, for listing them all (the conformance report, the summary).</summary>
    public static IEnumerable<DropReason> Reasons => Enum.GetValues<DropReason>().Where(reason => reason != DropReason.None);

    internal void Add(DropReason reason)
    {
        _counts[(int)reason]++;
        Total++;
    }

    [InlineArray(Length)]
    private struct Counts
    {
        private long _first;
    }
}

/// <summary>
/// A set of <see cref="DropReason"/>s, for saying each reason once per connection: the log learns what
/// a peer sends that this side does not take without a line per datagram.
/// </summary>
public struct DropReasonSet
{
    private ulong _bits;

    /// <summary>Adds <paramref name="reason"/>; true when it was not in the set before.</summary>
    public bool Add(DropReason reason)
    {
        ulong bit = 1UL << (int)reason;
        bool added = (_bits & bit) == 0;
        _bits |= bit;
        return added;
    }

    /// <summary>Takes the reason with the lowest number out of the set; false when the set is empty.</summary>
    public bool TryTakeFirst(out DropReason reason)
    {
        if (_bits == 0)
        {
            reason = DropReason.None;
            return false;
        }

        reason = (DropReason)BitOperations.TrailingZeroCount(_bits);
        _bits &= _bits - 1;
        return true;
    }
}
