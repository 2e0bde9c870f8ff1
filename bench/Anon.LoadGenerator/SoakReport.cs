using System.Globalization;
using System.Text;

namespace Anon.LoadGenerator;

/// <summary>A soak's samples as CSV, and as an SVG plot of the figures that must stay flat.</summary>
internal static class SoakReport
{
    private const int Width = 900;
    private const int PanelHeight = 130;
    private const int Left = 70;
    private const int Right = 20;
    private const int Top = 40;
    private const int Gap = 30;

    public static void WriteCsv(IReadOnlyList<SoakSample> samples, string path)
    {
        var csv = new StringBuilder("seconds,phase,rss_kib,descriptors,threads,open_connections,armed_timers,timer_queue_entries,transfers_completed\n");
        foreach (SoakSample s in samples)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{s.Seconds:0.0},{s.Phase},{s.RssKiB},{s.Descriptors},{s.Threads},{s.OpenConnections},{s.ArmedTimers},{s.TimerQueueEntries},{s.TransfersCompleted}\n");
        }

        WriteFile(path, csv.ToString());
    }

    /// <summary>
    /// One panel per figure against time, the floods shaded and the end of the warm-up marked; a
    /// figure a panel, each on its own scale from 0, so that a slope shows.
    /// </summary>
    public static void WriteSvg(IReadOnlyList<SoakSample> samples, IReadOnlyList<(double From, double To)> floods, double warmUpSeconds, string title, string path)
    {
        (string Name, Func<SoakSample, double> Value)[] panels =
        [
            ("gateway RSS (MiB)", s => s.RssKiB / 1024.0),
            ("open descriptors", s => s.Descriptors),
            ("open connections", s => s.OpenConnections),
            ("timer queue entries", s => s.TimerQueueEntries),
        ];
        double end = Math.Max(1, samples.Max(s => s.Seconds));
        int height = Top + (panels.Length * (PanelHeight + Gap)) + 20;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{height}" viewBox="0 0 {Width} {height}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{height}" fill="white"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="22" font-size="14">{Escape(title)}</text>""").Append('\n');
        for (int p = 0; p < panels.Length; p++)
        {
            int top = Top + (p * (PanelHeight + Gap));
            double max = Math.Max(1, samples.Max(panels[p].Value)) * 1.1;
            double X(double seconds) => Left + ((Width - Left - Right) * seconds / end);
            double Y(double value) => top + PanelHeight - (PanelHeight * value / max);
            foreach ((double from, double to) in floods)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"""<rect x="{X(from):0.0}" y="{top}" width="{Math.Max(1, X(to) - X(from)):0.0}" height="{PanelHeight}" fill="#fde2c8"/>""").Append('\n');
            }

            svg.Append(CultureInfo.InvariantCulture,
                $"""<line x1="{X(warmUpSeconds):0.0}" y1="{top}" x2="{X(warmUpSeconds):0.0}" y2="{top + PanelHeight}" stroke="#999" stroke-dasharray="4 3"/>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture,
                $"""<rect x="{Left}" y="{top}" width="{Width - Left - Right}" height="{PanelHeight}" fill="none" stroke="#444"/>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left + 6}" y="{top + 15}">{Escape(panels[p].Name)}</text>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{top + 10}" text-anchor="end">{max:0.#}</text>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{top + PanelHeight}" text-anchor="end">0</text>""").Append('\n');
            svg.Append("<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\" points=\"");
            foreach (SoakSample s in samples)
            {
                svg.Append(CultureInfo.InvariantCulture, $"{X(s.Seconds):0.0},{Y(panels[p].Value(s)):0.0} ");
            }

            svg.Append("\"/>\n");
        }

        int axis = Top + (panels.Length * (PanelHeight + Gap)) - Gap + 16;
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="{axis}">0 s</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width - Right}" y="{axis}" text-anchor="end">{end:0} s (shaded: floods; dashed: end of the warm-up)</text>""").Append('\n');
        svg.Append("</svg>\n");
        WriteFile(path, svg.ToString());
    }

    private static void WriteFile(string path, string text)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllText(path, text);
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
