using System.Globalization;
using System.Net;
using System.Text;

namespace Anon.Gateway.Observability;

/// <summary>The status as a page for people (machines read <c>/status.json</c> and <c>/metrics</c>).</summary>
public static class StatusFormats
{
    /// <summary>How often the page reloads itself, in seconds, unless the address asks otherwise (<c>/?refresh=N</c>, 0 for never).</summary>
    public const int DefaultRefreshSeconds = 2;

    /// <summary>
    /// A small page that reloads itself, rendered on the server: it needs no script, and each
    /// figure has an id (<c>transfers</c>, <c>open-connections</c>, ...) for tools to find it.
    /// </summary>
    public static string Html(GatewayStatus status, int refreshSeconds = DefaultRefreshSeconds)
    {
        ArgumentNullException.ThrowIfNull(status);
        PageStatus page = status.Page;
        TrafficStatus traffic = status.Traffic;
        var html = new StringBuilder();
        Append(html, $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            {{(refreshSeconds > 0 ? $"<meta http-equiv=\"refresh\" content=\"{refreshSeconds}\">" : "")}}
            <title>anonGateway on UDP port {{status.Port}}</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
              h1 { font-size: 1.4em; }
              table { border-collapse: collapse; margin-bottom: 1.5em; }
              th, td { text-align: left; padding: 0.3em 1em 0.3em 0; border-bottom: 1px solid #d0d7de; }
              td.figure { font-family: ui-monospace, monospace; font-size: 1.1em; }
              .command { font-family: ui-monospace, monospace; font-size: 1.6em; font-weight: bold; }
              .error { color: #cf222e; }
              .muted { color: #57606a; }
            </style>
            </head>
            <body>
            <h1>anonGateway {{E(status.Version)}} on UDP port {{status.Port}}</h1>
            <p class="command" id="command">{{E(page.Command)}}</p>
            <table>
            <tr><th>page</th><td><a href="{{E(page.Url)}}">{{E(page.Url)}}</a>, <span id="page-bytes">{{page.Bytes}}</span> bytes</td></tr>
            <tr><th>fetched</th><td id="fetched-at">{{UtcTime.Of(page.FetchedAt)}}</td></tr>
            <tr><th>last confirmed</th><td id="checked-at">{{UtcTime.Of(page.CheckedAt)}}</td></tr>
            """);
        if (page.FromCache)
        {
            Append(html, $"""<tr><th>source</th><td class="error" id="from-cache">the copy kept on disk: upstream failed at start</td></tr>""");
        }

        if (page.RefreshError is { } error)
        {
            Append(html, $"""<tr><th>refresh</th><td class="error" id="refresh-error">{E(error)} (still serving the last good copy)</td></tr>""");
        }

        Append(html, $$"""
            </table>
            <table>
            <tr><th>open connections</th><td class="figure" id="open-connections">{{traffic.OpenConnections}}</td></tr>
            <tr><th>open connections at most, since the start</th><td class="figure" id="peak-connections">{{traffic.PeakOpenConnections}}</td></tr>
            <tr><th>transfers completed</th><td class="figure" id="transfers">{{traffic.TransfersCompleted}}</td></tr>
            <tr><th>transfers failed</th><td class="figure" id="transfers-failed">{{traffic.TransfersFailed}}</td></tr>
            <tr><th>closes unconfirmed (every byte sent, the FIN unanswered)</th><td class="figure" id="closes-unconfirmed">{{traffic.ClosesUnconfirmed}}</td></tr>
            <tr><th>retransmissions</th><td class="figure" id="retransmissions">{{traffic.Retransmissions}}</td></tr>
            <tr><th>round-trip time</th><td class="figure" id="rtt">{{Milliseconds(traffic.RoundTripMilliseconds)}}</td></tr>
            <tr><th>datagrams received / sent / dropped</th><td class="figure" id="datagrams">{{traffic.DatagramsReceived}} / {{traffic.DatagramsSent}} / {{traffic.DatagramsDropped}}</td></tr>
            <tr><th>page bytes sent</th><td class="figure" id="bytes-sent">{{traffic.PayloadBytesSent}}</td></tr>
            </table>
            <h2>Open connections</h2>
            <table id="connections">
            <tr><th>client</th><th>acknowledged</th><th>retransmissions</th><th>round-trip time</th><th>open for</th></tr>
            """);
        if (traffic.Connections.Count == 0)
        {
            Append(html, $"""<tr><td colspan="5" class="muted">none</td></tr>""");
        }

        foreach (ConnectionStatus connection in traffic.Connections)
        {
            Append(html, $"""
                <tr><td>{E(connection.Client)}</td><td>{connection.BytesAcknowledged} of {connection.Bytes} bytes</td><td>{connection.Retransmissions}</td><td>{Milliseconds(connection.RoundTripMilliseconds)}</td><td>{connection.OpenMilliseconds:0} ms</td></tr>
                """);
        }

        Append(html, $"""
            </table>
            <p class="muted">As of {UtcTime.Of(traffic.At)}; {(refreshSeconds > 0 ? $"this page reloads every {refreshSeconds} s" : "this page does not reload itself")}. Also as <a href="/status.json">JSON</a> and <a href="/metrics">Prometheus metrics</a>. Started {UtcTime.Of(status.StartedAt)}.</p>
            </body>
            </html>
            """);
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Milliseconds(double? milliseconds) =>
        milliseconds is double ms ? ms.ToString("0.000", CultureInfo.InvariantCulture) + " ms" : "—";

    private static void Append(StringBuilder builder, FormattableString line) =>
        builder.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
