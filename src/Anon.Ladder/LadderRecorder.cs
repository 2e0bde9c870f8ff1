using Anon.Protocol;

namespace Anon.Ladder;

/// <summary>
/// Records one side's datagrams as they are sent and received, with their payload lengths and
/// times, for a <see cref="LadderDiagram"/> of a live transfer.
/// </summary>
/// <remarks>Meant for a single transfer (anonclient --diagram): it keeps every datagram.</remarks>
public sealed class LadderRecorder(LadderSide recordedBy)
{
    private readonly List<LadderArrow> _arrows = [];
    private TimeSpan? _start;

    /// <summary>Records a datagram <paramref name="recordedBy"/> sent or received at <paramref name="now"/>; runts are not drawn.</summary>
    public void Record(PacketDirection direction, ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        if (!SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            return;
        }

        _start ??= now;
        LadderSide from = direction == PacketDirection.Send ? recordedBy : recordedBy == LadderSide.Client ? LadderSide.Gateway : LadderSide.Client;
        _arrows.Add(new LadderArrow(from, header) { PayloadLength = datagram.Length - SegmentHeader.Size, At = now - _start.Value });
    }

    public LadderDiagram ToDiagram() =>
        new(LadderDiagram.Annotate([.. _arrows], arrow => arrow.From == recordedBy, arrow => arrow.To == recordedBy));
}
