using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Anon.Gateway.Observability;
using Anon.Protocol;

namespace Anon.Gateway.Tests;

/// <summary>
/// The instruments, and their one exposition (<c>/metrics</c>). Not run beside each other: a meter is
/// found by its name, and a process normally holds one gateway.
/// </summary>
[Collection(nameof(GatewayMetricsTests))]
public partial class GatewayMetricsTests
{
    private static readonly DateTimeOffset FetchedAt = DateTimeOffset.FromUnixTimeSeconds(1_796_132_260);

    [Fact]
    public void The_instruments_report_what_the_core_counted()
    {
        var endpoint = new GatewayEndpoint(new byte[1000], new FixedSynCookie(new SequenceNumber(100)));
        var board = new StatusBoard("0.1.0", 30000, new FixedTime(FetchedAt));
        using var metrics = new GatewayMetrics(board);
        PeerAddress client = new PeerAddress(IPAddress.Loopback, 40000);
        byte[] answer = new byte[Segments.MaxDatagram];
        Send(endpoint, client, 1, 0, SegmentFlags.Syn, answer);
        Send(endpoint, client, 2, 101, SegmentFlags.Ack, answer);
        Send(endpoint, client, 3, 613, SegmentFlags.Ack, answer, TimeSpan.FromMilliseconds(2));
        Send(endpoint, client, 4, 1101, SegmentFlags.Ack | SegmentFlags.Fin, answer, TimeSpan.FromMilliseconds(3));
        endpoint.HandleDatagram(client, new byte[3], TimeSpan.Zero, answer);

        board.PostTraffic(TrafficSnapshot.Take(endpoint, TimeSpan.FromMilliseconds(3), notAllowed: 2, sendErrors: 0, connectionsListed: 0));
        Dictionary<string, double> seen = Collect(metrics);

        Assert.Equal(1, seen["anon.gateway.transfers.completed"]);
        Assert.Equal(0, seen["anon.gateway.connections.open"]);
        Assert.Equal(1000, seen["anon.gateway.payload.sent"]);
        Assert.Equal(5, seen["anon.gateway.datagrams.received"]);
        Assert.Equal(3, seen["anon.gateway.datagrams.dropped"]); // the runt, and two outside --allow
        Assert.Equal(0.001875, seen["anon.gateway.rtt"], 12); // samples of 2 ms then 1 ms: 7/8 * 2 + 1/8 * 1 (RFC 6298 §2.3)
        Assert.DoesNotContain("anon.gateway.page", seen.Keys); // no page posted yet: nothing to say of it
    }

    [Fact]
    public async Task The_status_page_exposes_the_instruments_in_the_prometheus_format_with_conventional_names()
    {
        var board = new StatusBoard("0.1.0", 30000, new FixedTime(FetchedAt));
        board.PageFetched(new Uri("http://127.0.0.1/LIGHTON_COMMAND"), new byte[13112]);
        board.PostTraffic(TrafficSnapshot.Empty with
        {
            Core = new GatewayStatistics { ConnectionsCompleted = 3, PayloadBytesSent = 39336 },
            RoundTrip = new RoundTripEstimate(TimeSpan.FromMilliseconds(0.036), TimeSpan.Zero),
        });
        using var metrics = new GatewayMetrics(board);
        await using StatusServer server = await StatusServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), board, CancellationToken.None);
        using var http = new HttpClient();

        string text = await http.GetStringAsync(new Uri(server.Address, "metrics"));

        Assert.Equal(3, Sample(text, "anon_gateway_transfers_completed_total"));
        Assert.Equal(39336, Sample(text, "anon_gateway_payload_sent_bytes_total"));
        Assert.Equal(0.000036, Sample(text, "anon_gateway_rtt_seconds"), 12);
        Assert.Equal(13112, Sample(text, "anon_gateway_page_bytes"));
        Assert.Equal(1_796_132_260, Sample(text, "anon_gateway_page_fetched_timestamp_seconds"));
        Assert.Equal(0, Sample(text, "anon_gateway_page_from_cache"));
        Assert.Contains("# TYPE anon_gateway_transfers_completed_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE anon_gateway_connections_open gauge", text, StringComparison.Ordinal);
        Assert.Contains("service_name=\"anonGateway\"", text, StringComparison.Ordinal);
    }

    /// <summary>The one sample of <paramref name="name"/>, whatever its labels.</summary>
    private static double Sample(string exposition, string name)
    {
        Match sample = Regex.Match(exposition, $@"^{name}(?:\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline);
        Assert.True(sample.Success, $"no sample of {name} in:\n{exposition}");
        return double.Parse(sample.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static void Send(GatewayEndpoint endpoint, PeerAddress client, uint sequence, uint acknowledgment, SegmentFlags flags, byte[] answer, TimeSpan now = default)
    {
        byte[] datagram = new byte[SegmentHeader.Size];
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(datagram);
        endpoint.HandleDatagram(client, datagram, now, answer);
    }

    private static Dictionary<string, double> Collect(GatewayMetrics metrics)
    {
        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GatewayMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        GC.KeepAlive(metrics);
        return seen;
    }

    private sealed class FixedTime(DateTimeOffset at) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => at;
    }
}
