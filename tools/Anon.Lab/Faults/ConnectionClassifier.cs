using Anon.Protocol;

namespace Anon.Lab.Faults;

/// <summary>
/// Tells what each datagram of one client's connection is (<see cref="DatagramClass"/>), in both
/// directions, from the headers alone, as they pass: the one place the suite's peers and the lossy
/// relay learn which datagram a fault means. A SYN with a new ISN starts the connection over.
/// </summary>
/// <remarks>
/// A segment's number comes from its offset in the content and the first segment's length (every
/// segment but the last is that long in a stop-and-wait transfer), so that a segment sent out of
/// order still gets its own number.
/// </remarks>
public sealed class ConnectionClassifier
{
    private readonly Dictionary<DatagramClass, int> _copies = [];
    private readonly Dictionary<uint, int> _segmentEnds = [];
    private uint? _clientIsn;
    private uint? _gatewayIsn;
    private int _firstSegmentLength;

    /// <summary>Classifies the datagram whose bytes are <paramref name="raw"/>, going <paramref name="way"/>, and counts it.</summary>
    public DatagramClass Classify(Way way, ReadOnlySpan<byte> raw)
    {
        if (!SegmentHeader.TryRead(raw, out SegmentHeader header))
        {
            return Count(way, DatagramKind.Other, -1);
        }

        int length = raw.Length - SegmentHeader.Size;
        uint seq = header.Sequence.Value;
        uint ack = header.Acknowledgment.Value;
        SegmentFlags flags = header.ControlFlags;
        if (way == Way.ToGateway)
        {
            if (flags == SegmentFlags.Syn)
            {
                if (_clientIsn != seq)
                {
                    Restart(seq);
                }

                return Count(way, DatagramKind.Syn, -1);
            }

            if (header.IsFin)
            {
                return Count(way, DatagramKind.FinAck, _segmentEnds.Count == 0 ? -1 : _segmentEnds.Values.Max());
            }

            if (flags == SegmentFlags.Ack && length == 0 && _gatewayIsn is { } isn)
            {
                if (ack == isn + 1)
                {
                    return Count(way, DatagramKind.HandshakeAck, -1);
                }

                if (_segmentEnds.TryGetValue(ack, out int acknowledged))
                {
                    return Count(way, DatagramKind.AckOfSegment, acknowledged);
                }
            }

            return Count(way, DatagramKind.Other, -1);
        }

        if (flags == (SegmentFlags.Syn | SegmentFlags.Ack))
        {
            _gatewayIsn = seq;
            return Count(way, DatagramKind.SynAck, -1);
        }

        if (!header.IsSyn && (length > 0 || header.IsFin) && _gatewayIsn is { } gatewayIsn)
        {
            int segment = SegmentNumber(seq - (gatewayIsn + 1), length);
            _segmentEnds[seq + (uint)length] = segment;
            if (header.IsFin)
            {
                _segmentEnds[seq + (uint)length + 1] = segment; // TCP's habit: the FIN counted as a byte
            }

            return Count(way, DatagramKind.Segment, segment);
        }

        return Count(way, DatagramKind.Other, -1);
    }

    private int SegmentNumber(uint offset, int length)
    {
        if (offset == 0 && length > 0)
        {
            _firstSegmentLength = length;
        }

        if (_firstSegmentLength == 0)
        {
            return offset == 0 ? 0 : _segmentEnds.Count == 0 ? 1 : _segmentEnds.Values.Max() + 1;
        }

        // Every segment but the last is as long as the first; an empty FIN after the data starts past its end.
        return (int)(offset / (uint)_firstSegmentLength) + (offset % (uint)_firstSegmentLength == 0 ? 0 : 1);
    }

    private void Restart(uint clientIsn)
    {
        _clientIsn = clientIsn;
        _gatewayIsn = null;
        _firstSegmentLength = 0;
        _copies.Clear();
        _segmentEnds.Clear();
    }

    private DatagramClass Count(Way way, DatagramKind kind, int segment)
    {
        // Copies are counted per way, kind and segment: a retransmission is the same datagram again.
        var first = new DatagramClass(way, kind, segment, 1);
        int copy = _copies.GetValueOrDefault(first) + 1;
        _copies[first] = copy;
        return first with { Copy = copy };
    }
}
