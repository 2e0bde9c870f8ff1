using System.Globalization;

namespace Anon.Protocol;

/// <summary>
/// A 32-bit sequence or acknowledgment number. Arithmetic wraps modulo 2^32 and comparison is
/// serial-number comparison (RFC 1982 §3.2; RFC 9293 §3.4), so an initial sequence number close to
/// 2^32 works like any other.
/// </summary>
public readonly record struct SequenceNumber(uint Value) : ISpanFormattable, IUtf8SpanFormattable
{
    public static SequenceNumber operator +(SequenceNumber sequence, int count) =>
        new(unchecked(sequence.Value + (uint)count));

    public static SequenceNumber operator -(SequenceNumber sequence, int count) =>
        new(unchecked(sequence.Value - (uint)count));

    /// <summary>
    /// The signed distance from <paramref name="right"/> to <paramref name="left"/>. Meaningful only
    /// when the two are less than 2^31 apart, which a stop-and-wait window always is.
    /// </summary>
    public static int operator -(SequenceNumber left, SequenceNumber right) =>
        unchecked((int)(left.Value - right.Value));

    public static bool operator <(SequenceNumber left, SequenceNumber right) => left - right < 0;

    public static bool operator >(SequenceNumber left, SequenceNumber right) => left - right > 0;

    public static bool operator <=(SequenceNumber left, SequenceNumber right) => left - right <= 0;

    public static bool operator >=(SequenceNumber left, SequenceNumber right) => left - right >= 0;

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    public string ToString(string? format, IFormatProvider? formatProvider) =>
        Value.ToString(format, formatProvider);

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        Value.TryFormat(destination, out charsWritten, format, provider);

    public bool TryFormat(Span<byte> utf8Destination, out int bytesWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        Value.TryFormat(utf8Destination, out bytesWritten, format, provider);
}
