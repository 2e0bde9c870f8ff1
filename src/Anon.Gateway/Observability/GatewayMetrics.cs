using System.Diagnostics.Metrics;

namespace Anon.Gateway.Observability;

/// <summary>
/// The gateway's figures as System.Diagnostics.Metrics instruments, under the meter
/// <see cref="MeterName"/>: readable with <c>dotnet-counters monitor -n anonGateway --counters Anon.Gateway</c>
/// or any OpenTelemetry exporter. All are observable, read from the last <see cref="TrafficSnapshot"/>
/// the loop posted (about once a second), so the datagram path pays nothing for them and a listener
/// on another thread never reads the core.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Anon.Gateway";

    private readonly Meter _meter = new(MeterName, typeof(GatewayMetrics).Assembly.GetName().Version?.ToString(3));
    private TrafficSnapshot _latest = TrafficSnapshot.Empty;

    public GatewayMetrics()
    {
        _meter.CreateObservableUpDownCounter("anon.gateway.connections.open", () => Latest.OpenConnections, "{connection}", "Connections being served");
        _meter.CreateObservableUpDownCounter("anon.gateway.timers.armed", () => Latest.ArmedTimers, "{timer}", "Connections waiting on a retransmission timer");
        _meter.CreateObservableCounter("anon.gateway.transfers.completed", () => Latest.TransfersCompleted, "{transfer}", "Transfers acknowledged to the end");
        _meter.CreateObservableCounter("anon.gateway.transfers.failed", () => Latest.TransfersFailed, "{transfer}", "Connections given up before their last segment was sent");
        _meter.CreateObservableCounter("anon.gateway.closes.unconfirmed", () => Latest.ClosesUnconfirmed, "{transfer}", "Connections given up with every byte sent and the FIN unanswered");
        _meter.CreateObservableCounter("anon.gateway.retransmissions", () => Latest.Retransmissions, "{segment}", "Segments sent again on timeout");
        _meter.CreateObservableCounter("anon.gateway.bytes.sent", () => Latest.PayloadBytesSent, "By", "Page bytes sent, retransmissions included");
        _meter.CreateObservableCounter("anon.gateway.datagrams.received", () => Latest.DatagramsReceived, "{datagram}", "Datagrams received");
        _meter.CreateObservableCounter("anon.gateway.datagrams.sent", () => Latest.DatagramsSent, "{datagram}", "Datagrams sent");
        _meter.CreateObservableCounter(
            "anon.gateway.datagrams.dropped",
            () => Latest.DatagramsDropped,
            "{datagram}",
            "Datagrams dropped: too short, unexpected, unmatched, refused, or from outside --allow");
        _meter.CreateObservableGauge(
            "anon.gateway.rtt",
            () => Latest.RoundTrip is { } estimate ? [new Measurement<double>(estimate.Smoothed.TotalMilliseconds)] : Array.Empty<Measurement<double>>(),
            "ms",
            "Smoothed round-trip time of the last completed connection");
    }

    private TrafficSnapshot Latest => Volatile.Read(ref _latest);

    /// <summary>The loop's latest figures; from its thread.</summary>
    public void Post(TrafficSnapshot snapshot) => Volatile.Write(ref _latest, snapshot);

    public void Dispose() => _meter.Dispose();
}
