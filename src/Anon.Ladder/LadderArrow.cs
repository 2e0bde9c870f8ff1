using Anon.Protocol;

namespace Anon.Ladder;

/// <summary>The two columns of a ladder diagram.</summary>
public enum LadderSide
{
    Client,
    Gateway,
}

/// <summary>One datagram: an arrow from one column to the other.</summary>
/// <param name="From">Who sent it.</param>
/// <param name="Header">Its header.</param>
public sealed record LadderArrow(LadderSide From, SegmentHeader Header)
{
    /// <summary>Bytes after the header; null when unknown (a log line does not record it, and nothing answered it).</summary>
    public int? PayloadLength { get; init; }

    /// <summary>When it was sent or received, from the first datagram; null when taken from a log.</summary>
    public TimeSpan? At { get; init; }

    /// <summary>Its sender had sent the same datagram before.</summary>
    public bool Retransmission { get; init; }

    /// <summary>Its receiver had received the same datagram before.</summary>
    public bool Duplicate { get; init; }

    /// <summary>Sent and never received: known only when both sides' logs are at hand.</summary>
    public bool Lost { get; init; }

    public LadderSide To => From == LadderSide.Client ? LadderSide.Gateway : LadderSide.Client;

    /// <summary>"ACK|SYN seq=100 ack=12346", with "len=N" when it carries data ("len=?" when unknown).</summary>
    public string Label
    {
        get
        {
            string flags = string.Join('|', new[] { (Header.IsAck, "ACK"), (Header.IsSyn, "SYN"), (Header.IsFin, "FIN") }
                .Where(flag => flag.Item1).Select(flag => flag.Item2));
            string length = PayloadLength switch
            {
                null => " len=?",
                0 => "",
                int bytes => $" len={bytes}",
            };
            return $"{(flags.Length == 0 ? "-" : flags)} seq={Header.Sequence} ack={Header.Acknowledgment}{length}";
        }
    }

    /// <summary>What is unusual about it, for the margin: "lost", "retransmission", "duplicate"; empty when nothing.</summary>
    public string Note => string.Join(", ", new[] { (Lost, "lost"), (Retransmission, "retransmission"), (Duplicate, "duplicate") }
        .Where(note => note.Item1).Select(note => note.Item2));
}
