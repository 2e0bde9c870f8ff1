using System.Diagnostics.Metrics;
using System.Net;
using Anon.Gateway.Observability;
using Anon.Protocol;

namespace Anon.Gateway.Tests;

public class GatewayMetricsTests
{
    [Fact]
    public void The_instruments_report_what_the_core_counted()
    {
        var endpoint = new GatewayEndpoint(new byte[1000], new FixedSynCookie(new SequenceNumber(100)));
        using var metrics = new GatewayMetrics();
        PeerAddress client = new PeerAddress(IPAddress.Loopback, 40000);
        byte[] answer = new byte[Segments.MaxDatagram];
        Send(endpoint, client, 1, 0, SegmentFlags.Syn, answer);
        Send(endpoint, client, 2, 101, SegmentFlags.Ack, answer);
        Send(endpoint, client, 3, 613, SegmentFlags.Ack, answer, TimeSpan.FromMilliseconds(2));
        Send(endpoint, client, 4, 1101, SegmentFlags.Ack | SegmentFlags.Fin, answer, TimeSpan.FromMilliseconds(3));
        endpoint.HandleDatagram(client, new byte[3], TimeSpan.Zero, answer);

        metrics.Post(TrafficSnapshot.Take(endpoint, TimeSpan.FromMilliseconds(3), notAllowed: 0, sendErrors: 0, connectionsListed: 0));
        Dictionary<string, double> seen = Collect();

        Assert.Equal(1, seen["anon.gateway.transfers.completed"]);
        Assert.Equal(0, seen["anon.gateway.connections.open"]);
        Assert.Equal(1000, seen["anon.gateway.bytes.sent"]);
        Assert.Equal(5, seen["anon.gateway.datagrams.received"]);
        Assert.Equal(1, seen["anon.gateway.datagrams.dropped"]);
        Assert.Equal(1.875, seen["anon.gateway.rtt"]); // samples of 2 ms then 1 ms: 7/8 * 2 + 1/8 * 1 (RFC 6298 §2.3)
    }

    private static void Send(GatewayEndpoint endpoint, PeerAddress client, uint sequence, uint acknowledgment, SegmentFlags flags, byte[] answer, TimeSpan now = default)
    {
        byte[] datagram = new byte[SegmentHeader.Size];
        new SegmentHeader(new SequenceNumber(sequence), new SequenceNumber(acknowledgment), flags).WriteTo(datagram);
        endpoint.HandleDatagram(client, datagram, now, answer);
    }

    private static Dictionary<string, double> Collect()
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
        return seen;
    }
}
