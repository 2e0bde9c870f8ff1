using System.Globalization;
using System.Text;

namespace Anon.Ladder;

/// <summary>Draws a <see cref="LadderDiagram"/> as text for a terminal: one line per arrow.</summary>
/// <example>
/// <code>
/// client                                                          gateway
///    |--------------------- SYN seq=12345 ack=0 -------------------->|
///    |&lt;---------------- ACK|SYN seq=100 ack=12346 ------------------|
///    |&lt;------------ ACK seq=101 ack=12347 len=512 --------------X   |  lost
/// </code>
/// </example>
public static class TextLadder
{
    /// <summary>Characters between the two columns: room for the longest label.</summary>
    private const int Lane = 62;

    /// <summary>How far short of its receiver a lost datagram's arrow stops.</summary>
    private const int LostGap = 4;

    public static string Render(LadderDiagram diagram)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        bool timed = diagram.Arrows.Any(arrow => arrow.At is not null);
        string blankMargin = timed ? new string(' ', 10) : "";
        var text = new StringBuilder();
        text.Append(timed ? "        ms " : "").Append("client".PadRight(Lane + 2 - "gateway".Length)).Append("gateway\n");
        foreach (LadderArrow arrow in diagram.Arrows)
        {
            text.Append(arrow.At is TimeSpan at ? string.Create(CultureInfo.InvariantCulture, $"{at.TotalMilliseconds,9:0.000} ") : blankMargin);
            text.Append('|').Append(Arrow(arrow)).Append('|');
            string note = arrow.Note;
            text.Append(note.Length > 0 ? "  " + note : "").Append('\n');
        }

        return text.Append('\n').Append(diagram.Summary).Append('\n').ToString();
    }

    private static string Arrow(LadderArrow arrow)
    {
        char[] lane = new string('-', Lane).ToCharArray();
        bool toGateway = arrow.From == LadderSide.Client;
        int gap = arrow.Lost ? LostGap : 0;
        // The dashed part: all of the lane but the gap at the receiver's end.
        int start = toGateway ? 0 : gap;
        int end = toGateway ? Lane - gap : Lane;
        for (int i = 0; i < Lane; i++)
        {
            lane[i] = i >= start && i < end ? '-' : ' ';
        }

        lane[toGateway ? end - 1 : start] = arrow.Lost ? 'X' : toGateway ? '>' : '<';
        string label = " " + arrow.Label + " ";
        int labelStart = start + 1 + Math.Max(0, (end - start - 2 - label.Length) / 2);
        label.AsSpan(0, Math.Min(label.Length, end - 1 - labelStart)).CopyTo(lane.AsSpan(labelStart));
        return new string(lane);
    }
}
