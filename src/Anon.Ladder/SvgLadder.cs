using System.Globalization;
using System.Text;

namespace Anon.Ladder;

/// <summary>
/// Draws a <see cref="LadderDiagram"/> as a standalone SVG image: the two columns, one slanted arrow
/// per datagram with its label, lost datagrams stopping short with a cross, notes in the margin.
/// </summary>
public static class SvgLadder
{
    private const int Width = 800;
    private const int ClientX = 170;
    private const int GatewayX = 610;
    private const int Top = 70;
    private const int RowHeight = 28;

    /// <summary>How far an arrow falls from sender to receiver: the datagram's time in flight, drawn.</summary>
    private const int Fall = 12;

    /// <summary>The share of the way a lost datagram's arrow goes before its cross.</summary>
    private const double LostReach = 0.7;

    public static string Render(LadderDiagram diagram)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        string[] summary = diagram.Summary.Split("; ");
        int height = Top + (diagram.Arrows.Count * RowHeight) + 30 + (summary.Length * 15);
        var svg = new StringBuilder();
        Append(svg, $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{height}" viewBox="0 0 {Width} {height}" font-family="monospace" font-size="11">
            <title>Ladder diagram: {diagram.Arrows.Count} datagrams between client and gateway</title>
            <style>
              .column {"{"} stroke: #57606a; stroke-width: 2; {"}"}
              .to-gateway {"{"} stroke: #0969da; fill: #0969da; {"}"}
              .to-client {"{"} stroke: #1a7f37; fill: #1a7f37; {"}"}
              .lost {"{"} stroke: #cf222e; fill: #cf222e; stroke-dasharray: 5 3; {"}"}
              .cross {"{"} stroke: #cf222e; stroke-width: 2; {"}"}
              .note {"{"} fill: #cf222e; {"}"}
              .time {"{"} fill: #57606a; {"}"}
            </style>
            <defs>
              <marker id="head-to-gateway" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#0969da"/></marker>
              <marker id="head-to-client" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#1a7f37"/></marker>
            </defs>
            <rect width="{Width}" height="{height}" fill="#ffffff"/>
            <text x="{ClientX}" y="32" text-anchor="middle" font-size="15" font-weight="bold">client</text>
            <text x="{GatewayX}" y="32" text-anchor="middle" font-size="15" font-weight="bold">gateway</text>
            <line class="column" x1="{ClientX}" y1="45" x2="{ClientX}" y2="{Top + (diagram.Arrows.Count * RowHeight)}"/>
            <line class="column" x1="{GatewayX}" y1="45" x2="{GatewayX}" y2="{Top + (diagram.Arrows.Count * RowHeight)}"/>

            """);
        for (int i = 0; i < diagram.Arrows.Count; i++)
        {
            DrawArrow(svg, diagram.Arrows[i], Top + (i * RowHeight));
        }

        for (int i = 0; i < summary.Length; i++)
        {
            Append(svg, $"""<text x="20" y="{height - ((summary.Length - i) * 15) + 5}">{summary[i]}</text>""");
        }

        return svg.Append("\n</svg>\n").ToString();
    }

    private static void DrawArrow(StringBuilder svg, LadderArrow arrow, int y)
    {
        bool toGateway = arrow.From == LadderSide.Client;
        int fromX = toGateway ? ClientX : GatewayX;
        int toX = toGateway ? GatewayX : ClientX;
        string style = arrow.Lost ? "lost" : toGateway ? "to-gateway" : "to-client";
        if (arrow.Lost)
        {
            double endX = fromX + ((toX - fromX) * LostReach);
            double endY = y + (Fall * LostReach);
            Append(svg, $"""<line class="{style}" x1="{fromX}" y1="{y}" x2="{endX:0.#}" y2="{endY:0.#}"/>""");
            Append(svg, $"""<path class="cross" d="M{endX - 5:0.#},{endY - 5:0.#} L{endX + 5:0.#},{endY + 5:0.#} M{endX - 5:0.#},{endY + 5:0.#} L{endX + 5:0.#},{endY - 5:0.#}"/>""");
        }
        else
        {
            Append(svg, $"""<line class="{style}" x1="{fromX}" y1="{y}" x2="{toX}" y2="{y + Fall}" marker-end="url(#head-{style})"/>""");
        }

        Append(svg, $"""<text x="{(ClientX + GatewayX) / 2}" y="{y + (Fall / 2) - 4}" text-anchor="middle">{arrow.Label}</text>""");
        if (arrow.At is TimeSpan at)
        {
            Append(svg, $"""<text class="time" x="{ClientX - 12}" y="{y + 4}" text-anchor="end">{at.TotalMilliseconds:0.000} ms</text>""");
        }

        if (arrow.Note.Length > 0)
        {
            Append(svg, $"""<text class="note" x="{GatewayX + 12}" y="{y + (Fall / 2) + 4}">{arrow.Note}</text>""");
        }
    }

    private static void Append(StringBuilder svg, FormattableString line) =>
        svg.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
