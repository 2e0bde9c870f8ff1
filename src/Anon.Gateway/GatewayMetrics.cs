using System.Diagnostics.Metrics;
using Anon.Protocol;

namespace Anon.Gateway;

/// <summary>
/// The gateway's counters as System.Diagnostics.Metrics instruments, under the meter
/// <see cref="MeterName"/>: readable with <c>dotnet-counters monitor -n anonGateway --counters Anon.Gateway</c>
/// or any OpenTelemetry exporter. All are observable: read from the core's statistics when a
/// listener asks, so the datagram path pays nothing for them.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Anon.Gateway";

    private readonly Meter _meter = new(MeterName, typeof(GatewayMetrics).Assembly.GetName().Version?.ToString(3));

    public GatewayMetrics(GatewayEndpoint endpoint)
    {
        GatewayStatistics statistics = endpoint.Statistics;
        _meter.CreateObservableUpDownCounter("anon.gateway.connections.open", () => endpoint.ConnectionCount, "{connection}", "Connections being served");
        _meter.CreateObservableCounter("anon.gateway.transfers.completed", () => Volatile.Read(ref statistics.ConnectionsCompleted), "{transfer}", "Transfers acknowledged to the end");
        _meter.CreateObservableCounter("anon.gateway.transfers.failed", () => Volatile.Read(ref statistics.ConnectionsTimedOut), "{transfer}", "Connections given up after every retransmission");
        _meter.CreateObservableCounter("anon.gateway.retransmissions", () => Volatile.Read(ref statistics.Retransmissions), "{segment}", "Segments sent again on timeout");
        _meter.CreateObservableCounter("anon.gateway.bytes.sent", () => Volatile.Read(ref statistics.PayloadBytesSent), "By", "Content bytes sent, retransmissions included");
        _meter.CreateObservableCounter("anon.gateway.datagrams.received", () => Volatile.Read(ref statistics.DatagramsReceived), "{datagram}", "Datagrams received");
        _meter.CreateObservableCounter(
            "anon.gateway.datagrams.dropped",
            () => statistics.DatagramsDropped,
            "{datagram}",
            "Datagrams dropped: too short, with a payload, unmatched, invalid acknowledgments, refused handshakes");
        _meter.CreateObservableGauge(
            "anon.gateway.rtt",
            () => endpoint.SharedRoundTripEstimate is { } estimate ? [new Measurement<double>(estimate.Smoothed.TotalMilliseconds)] : Array.Empty<Measurement<double>>(),
            "ms",
            "Smoothed round-trip time of the last completed connection");
    }

    public void Dispose() => _meter.Dispose();
}
