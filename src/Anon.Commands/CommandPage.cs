using System.Text;

namespace Anon.Commands;

/// <summary>The only two things a command page can ask a device to do.</summary>
public enum LightCommand
{
    LightOn,
    LightOff,
}

/// <summary>
/// Reads the command from the first line of a page (PROTOCOL.md "The command"): <c>COMMAND=LIGHTON</c>
/// or <c>COMMAND=LIGHTOFF</c>, or the bare words, case-insensitive, with CR/LF and surrounding spaces
/// removed. The rest of the page is data and never interpreted.
/// </summary>
public static class CommandPage
{
    private const int MaxReportedLength = 80;

    public static bool TryParse(ReadOnlySpan<byte> content, out LightCommand command)
    {
        ReadOnlySpan<byte> line = FirstLine(content).Trim(" \t"u8);
        ReadOnlySpan<byte> prefix = "COMMAND="u8;
        if (line.Length >= prefix.Length && Ascii.EqualsIgnoreCase(line[..prefix.Length], prefix))
        {
            line = line[prefix.Length..];
        }

        if (Ascii.EqualsIgnoreCase(line, "LIGHTON"u8))
        {
            command = LightCommand.LightOn;
            return true;
        }

        if (Ascii.EqualsIgnoreCase(line, "LIGHTOFF"u8))
        {
            command = LightCommand.LightOff;
            return true;
        }

        command = default;
        return false;
    }

    /// <summary>
    /// Why a page is not a command, and what one looks like: "cannot parse the command: the first
    /// line is "HELLO"; a command page's first line is COMMAND=LIGHTON or COMMAND=LIGHTOFF".
    /// </summary>
    public static string DescribeUnparsable(ReadOnlySpan<byte> content) =>
        $"cannot parse the command: the first line is \"{DescribeFirstLine(content)}\"; " +
        "a command page's first line is COMMAND=LIGHTON or COMMAND=LIGHTOFF (or the bare word, in any case)";

    /// <summary>What a page holds, as the gateway's log and status page say it: "COMMAND=LIGHTON", or why no command is recognised.</summary>
    public static string Describe(ReadOnlySpan<byte> content) => TryParse(content, out LightCommand command)
        ? command.ToPageText()
        : $"no known command: first line is \"{DescribeFirstLine(content)}\"";

    /// <summary>The first line as text, shortened and with control characters replaced, safe to put in a log or a message.</summary>
    public static string DescribeFirstLine(ReadOnlySpan<byte> content)
    {
        ReadOnlySpan<byte> line = FirstLine(content);
        bool shortened = line.Length > MaxReportedLength;
        string text = Encoding.UTF8.GetString(shortened ? line[..MaxReportedLength] : line);
        var safe = new StringBuilder(text.Length + 3);
        foreach (char c in text)
        {
            safe.Append(char.IsControl(c) ? '?' : c);
        }

        return shortened ? safe.Append("...").ToString() : safe.ToString();
    }

    /// <summary>The spelling used in pages and logs.</summary>
    public static string ToPageText(this LightCommand command) =>
        command == LightCommand.LightOn ? "COMMAND=LIGHTON" : "COMMAND=LIGHTOFF";

    private static ReadOnlySpan<byte> FirstLine(ReadOnlySpan<byte> content)
    {
        int end = content.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line = end < 0 ? content : content[..end];
        return line.TrimEnd((byte)'\r');
    }
}
