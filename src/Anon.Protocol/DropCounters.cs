namespace Anon.Protocol;

/// <summary>How many datagrams were dropped for each <see cref="DropReason"/>; counting allocates nothing.</summary>
public sealed class DropCounters
{
    private readonly long[] _counts = new long[Enum.GetValues<DropReason>().Length];

    /// <summary>Datagrams dropped for <paramref name="reason"/>.</summary>
    public long this[DropReason reason] => _counts[(int)reason];

    /// <summary>Every datagram dropped, whatever the reason.</summary>
    public long Total { get; private set; }

    /// <summary>The reasons this side can give, for listing them all (the conformance report, the summary).</summary>
    public static IEnumerable<DropReason> Reasons => Enum.GetValues<DropReason>().Where(reason => reason != DropReason.None);

    internal void Add(DropReason reason)
    {
        _counts[(int)reason]++;
        Total++;
    }
}
