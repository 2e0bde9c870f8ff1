using Anon.Gateway.Observability;

namespace Anon.Gateway.Tests;

public class StatusFormatsTests
{
    [Fact]
    public void Metrics_are_written_as_plain_decimals()
    {
        DateTimeOffset at = DateTimeOffset.FromUnixTimeSeconds(1_796_132_260);
        var page = new PageStatus("http://127.0.0.1/LIGHTON_COMMAND", 13112, "COMMAND=LIGHTON", at, at, null);
        var traffic = TrafficStatus.None(at) with { TransfersCompleted = 3, RoundTripMilliseconds = 0.036 };

        string metrics = StatusFormats.Prometheus(new GatewayStatus("0.1.0", at, 30000, page, traffic));

        Assert.Contains("anon_gateway_rtt_seconds 0.000036\n", metrics, StringComparison.Ordinal);
        Assert.Contains("anon_gateway_transfers_completed_total 3\n", metrics, StringComparison.Ordinal);
        Assert.Contains("anon_gateway_page_fetched_timestamp_seconds 1796132260\n", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("E-", metrics, StringComparison.Ordinal);
    }
}
