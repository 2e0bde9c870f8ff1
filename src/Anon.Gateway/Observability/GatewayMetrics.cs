using System.Diagnostics.Metrics;
using Anon.Protocol;

namespace Anon.Gateway.Observability;

/// <summary>
/// The gateway's figures as System.Diagnostics.Metrics instruments under the meter
/// <see cref="MeterName"/>: the one source of its metrics. The status page's <c>/metrics</c> exposes
/// them in the Prometheus text format (through OpenTelemetry's exporter, <see cref="StatusServer"/>),
/// <c>dotnet-counters monitor -n anonGateway --counters Anon.Gateway</c> reads them live, and any
/// OpenTelemetry exporter can send them on. All are observable, read from the last
/// <see cref="TrafficSnapshot"/> the loop posted to the <see cref="StatusBoard"/> (about once a
/// second) and the page it holds, so the datagram path pays nothing for them and a listener on
/// another thread never reads the core.
/// </summary>
/// <remarks>
/// Names and units follow OpenTelemetry's conventions (dots, UCUM units, seconds); the exporter makes
/// the Prometheus names from them: <c>anon.gateway.rtt</c> in <c>s</c> is <c>anon_gateway_rtt_seconds</c>,
/// a counter gets <c>_total</c>, a unit in braces is only an annotation and adds nothing.
/// </remarks>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Anon.Gateway";

    private readonly Meter _meter = new(MeterName, typeof(GatewayMetrics).Assembly.GetName().Version?.ToString(3));

    public GatewayMetrics(StatusBoard board)
    {
        ArgumentNullException.ThrowIfNull(board);
        TrafficSnapshot Latest() => board.Traffic.Snapshot;
        GatewayStatistics Core() => board.Traffic.Snapshot.Core;

        _meter.CreateObservableUpDownCounter("anon.gateway.connections.open", () => Latest().OpenConnections, "{connection}", "Connections being served.");
        _meter.CreateObservableUpDownCounter("anon.gateway.timers.armed", () => Latest().ArmedTimers, "{timer}", "Connections waiting on a retransmission timer.");
        _meter.CreateObservableCounter("anon.gateway.transfers.completed", () => Core().ConnectionsCompleted, "{transfer}", "Transfers acknowledged to the end.");
        _meter.CreateObservableCounter("anon.gateway.transfers.failed", () => Core().ConnectionsTimedOut, "{transfer}", "Connections given up before their last segment was sent.");
        _meter.CreateObservableCounter("anon.gateway.closes.unconfirmed", () => Core().ClosesUnconfirmed, "{transfer}", "Connections given up with every byte sent and the FIN unanswered.");
        _meter.CreateObservableCounter("anon.gateway.retransmissions", () => Core().Retransmissions, "{segment}", "Segments sent again on timeout.");
        _meter.CreateObservableCounter("anon.gateway.datagrams.received", () => Core().DatagramsReceived, "{datagram}", "Datagrams received.");
        _meter.CreateObservableCounter("anon.gateway.datagrams.sent", () => Core().DatagramsSent, "{datagram}", "Datagrams sent.");
        _meter.CreateObservableCounter(
            "anon.gateway.datagrams.dropped",
            () => Latest().DatagramsDropped,
            "{datagram}",
            "Datagrams dropped: too short, unexpected, unmatched, refused, or from outside --allow.");
        _meter.CreateObservableCounter("anon.gateway.payload.sent", () => Core().PayloadBytesSent, "By", "Page bytes sent, retransmissions included.");
        _meter.CreateObservableGauge(
            "anon.gateway.rtt",
            () => Latest().RoundTrip is { } estimate ? [new Measurement<double>(estimate.Smoothed.TotalSeconds)] : Array.Empty<Measurement<double>>(),
            "s",
            "Smoothed round-trip time of the last completed connection.");

        _meter.CreateObservableGauge("anon.gateway.page", () => Page(board, page => page.Bytes), "By", "Size of the page being served.");
        _meter.CreateObservableGauge(
            "anon.gateway.page.fetched.timestamp",
            () => Page(board, page => page.FetchedAt.ToUnixTimeMilliseconds() / 1000.0),
            "s",
            "When the page being served was downloaded (Unix time).");
        _meter.CreateObservableGauge(
            "anon.gateway.page.age",
            () => Page(board, page => Math.Max(0, (board.Traffic.At - page.CheckedAt).TotalSeconds)),
            "s",
            "How long ago upstream last gave or confirmed the page being served.");
        _meter.CreateObservableGauge("anon.gateway.page.refresh_failing", () => Page(board, page => page.RefreshError is null ? 0 : 1), null, "1 while refreshes of the page fail, else 0.");
        _meter.CreateObservableGauge("anon.gateway.page.from_cache", () => Page(board, page => page.FromCache ? 1 : 0), null, "1 while the page served is the copy kept on disk (upstream failed at start), else 0.");
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>A figure of the page being served; none before there is one.</summary>
    private static IEnumerable<Measurement<T>> Page<T>(StatusBoard board, Func<PageStatus, T> figure)
        where T : struct =>
        board.Page is { } page ? [new Measurement<T>(figure(page))] : [];
}
