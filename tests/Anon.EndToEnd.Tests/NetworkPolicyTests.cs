using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>--bind and --allow: which addresses the gateway serves on, and whom it answers.</summary>
public sealed partial class NetworkPolicyTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task A_client_outside_every_allowed_network_gets_no_answer_and_one_inside_gets_the_page()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            web.LightOn, _scratch.PathOf("g.log"), "--allow", "10.0.0.0/8", "--allow", "::1/128");

        ProcessResult refused = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("c1.log"), _scratch.PathOf("out1.txt"), "--timeout", "1"));
        ProcessResult allowed = await Programs.RunClientAsync(
            ["-s", "::1", "-p", gateway.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-l", _scratch.PathOf("c2.log"), "-f", _scratch.PathOf("out2.txt")]);

        Assert.Equal(69, refused.ExitCode);
        Assert.Contains("no answer from the gateway within 1 s", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0, allowed.ExitCode);
        await gateway.StopAsync();
        // The closing summary's totals: the refused client's SYNs (one and its retries) were dropped at the allow list.
        Match outside = OutsideAllowTotal().Matches(File.ReadAllText(_scratch.PathOf("g.log")))[^1];
        Assert.InRange(int.Parse(outside.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 20);
    }

    [Fact]
    public async Task A_gateway_bound_to_127_0_0_1_serves_there_and_not_on_ipv6()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"), "--bind", "127.0.0.1");
        string port = gateway.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        ProcessResult v4 = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c1.log"), _scratch.PathOf("out1.txt")));
        ProcessResult v6 = await Programs.RunClientAsync(["-s", "::1", "-p", port, "-l", _scratch.PathOf("c2.log"), "-f", _scratch.PathOf("out2.txt"), "--timeout", "1"]);

        Assert.Contains("of 127.0.0.1", gateway.Banner, StringComparison.Ordinal);
        Assert.Equal(0, v4.ExitCode);
        Assert.Equal(69, v6.ExitCode);
    }

    [Theory]
    [InlineData("--bind", "not-an-address", 64, "is not an IP address for --bind")]
    [InlineData("--allow", "192.168.2.0/33", 64, "is not a network for --allow")]
    [InlineData("--bind", "192.0.2.1", 69, "no interface of this machine has that address")]
    public async Task Bad_addresses_are_clear_errors(string option, string value, int exitCode, string message)
    {
        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", web.LightOn.ToString(), option, value], TimeSpan.FromSeconds(60));

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"(\d+) from addresses outside --allow")]
    private static partial Regex OutsideAllowTotal();

    public void Dispose() => _scratch.Dispose();
}
