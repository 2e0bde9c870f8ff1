using System.Globalization;
using System.Text;

namespace Anon.Protocol;

public enum PacketDirection
{
    Receive,
    Send,
}

/// <summary>
/// The one log line per datagram that the spec prescribes:
/// <c>RECV|SEND &lt;seq&gt; &lt;ack&gt; [ACK] [SYN] [FIN]</c>, unsigned decimals and the flag names
/// in that order, separated by single spaces (PROTOCOL.md "Logs").
/// </summary>
public static class PacketLogLine
{
    /// <summary>Longest possible line: "RECV 4294967295 4294967295 ACK SYN FIN".</summary>
    public const int MaxLength = 38;

    /// <summary>Formats the line as UTF-8 without a line terminator; allocates nothing.</summary>
    public static int Format(Span<byte> destination, PacketDirection direction, in SegmentHeader header)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, MaxLength, nameof(destination));
        var writer = new Utf8Writer(destination);
        writer.Append(direction == PacketDirection.Receive ? "RECV "u8 : "SEND "u8);
        writer.Append(header.Sequence.Value);
        writer.Append(" "u8);
        writer.Append(header.Acknowledgment.Value);
        if (header.IsAck)
        {
            writer.Append(" ACK"u8);
        }

        if (header.IsSyn)
        {
            writer.Append(" SYN"u8);
        }

        if (header.IsFin)
        {
            writer.Append(" FIN"u8);
        }

        return writer.Written;
    }

    public static string Format(PacketDirection direction, in SegmentHeader header)
    {
        Span<byte> line = stackalloc byte[MaxLength];
        return Encoding.UTF8.GetString(line[..Format(line, direction, header)]);
    }

    /// <summary>
    /// Reads a line that <see cref="Format(Span{byte}, PacketDirection, in SegmentHeader)"/> wrote;
    /// false for any other line (an event line, or one not in the exact format).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> line, out PacketDirection direction, out SegmentHeader header)
    {
        direction = default;
        header = default;
        Span<Range> parts = stackalloc Range[7];
        int count = line.Split(parts, ' ');
        if (count is < 3 or > 6 || !TryParseDirection(line[parts[0]], out direction)
            || !uint.TryParse(line[parts[1]], NumberStyles.None, CultureInfo.InvariantCulture, out uint sequence)
            || !uint.TryParse(line[parts[2]], NumberStyles.None, CultureInfo.InvariantCulture, out uint acknowledgment))
        {
            return false;
        }

        // The flag names, each at most once and in the order ACK, SYN, FIN.
        SegmentFlags flags = SegmentFlags.None;
        int next = 0;
        ReadOnlySpan<string> names = ["ACK", "SYN", "FIN"];
        ReadOnlySpan<SegmentFlags> values = [SegmentFlags.Ack, SegmentFlags.Syn, SegmentFlags.Fin];
        for (int i = 3; i < count; i++)
        {
            ReadOnlySpan<char> name = line[parts[i]];
            while (next < names.Length && !name.SequenceEqual(names[next]))
            {
                next++;
            }

            if (next == names.Length)
            {
                return false;
            }

            flags |= values[next++];
        }

        header = new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags);
        return true;
    }

    private static bool TryParseDirection(ReadOnlySpan<char> word, out PacketDirection direction)
    {
        direction = word.SequenceEqual("RECV") ? PacketDirection.Receive : PacketDirection.Send;
        return word.SequenceEqual("RECV") || word.SequenceEqual("SEND");
    }

    /// <summary>True for a line that this format owns; every other log line must not look like one.</summary>
    public static bool IsPacketLine(ReadOnlySpan<char> line) =>
        line.StartsWith("RECV", StringComparison.Ordinal) || line.StartsWith("SEND", StringComparison.Ordinal);

    private ref struct Utf8Writer(Span<byte> destination)
    {
        private readonly Span<byte> _destination = destination;

        public int Written { get; private set; }

        public void Append(ReadOnlySpan<byte> text)
        {
            text.CopyTo(_destination[Written..]);
            Written += text.Length;
        }

        public void Append(uint value)
        {
            value.TryFormat(_destination[Written..], out int written, default, null);
            Written += written;
        }
    }
}
