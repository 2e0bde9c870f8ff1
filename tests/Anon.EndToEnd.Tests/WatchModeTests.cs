using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

public sealed class WatchModeTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    /// <summary>
    /// What describes one transfer cannot be asked of a watch, whose fetches go on and each take a
    /// random ISN: refused as a usage error, never silently ignored.
    /// </summary>
    [Theory]
    [InlineData("--diagram", "-", "--diagram draws one transfer; it cannot be combined with --watch")]
    [InlineData("--initial-seq", "12345", "--initial-seq numbers one transfer; it cannot be combined with --watch")]
    public async Task An_option_of_one_transfer_cannot_be_asked_for_in_watch_mode(string option, string value, string said)
    {
        ProcessResult client = await Programs.RunClientAsync(
            Expect.ClientArguments(9, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt"), option, value, "--watch", "5"));

        Assert.Equal(64, client.ExitCode);
        Assert.Contains(said, client.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.PathOf("out.txt")));
    }

    [Fact]
    public async Task Watch_mode_without_a_route_to_the_gateway_keeps_trying_until_stopped()
    {
        // A device that boots before its network is up: each try fails at connect(2) (ENETUNREACH),
        // which is a failed fetch like any other, not the end of the watch.
        string log = _scratch.PathOf("c.log");
        ProcessResult result = await Programs.RunAsync("timeout", ["--preserve-status", "--signal=TERM", "4", "unshare", .. ErrorTests.CutOffFromEveryNetwork,
            Programs.ClientPath, "-s", "192.0.2.1", "-p", "30000", "-l", log, "-f", _scratch.PathOf("out.txt"), "--watch", "0.2", "--timeout", "0.5"], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, $"exit code {result.ExitCode}; stderr: {result.Error}");
        string[] tries = File.ReadAllLines(log).Where(line => line.Contains("trying again in", StringComparison.Ordinal)).ToArray();
        Assert.True(tries.Length >= 2, $"{tries.Length} failed tries logged in 4 s: {string.Join(" | ", File.ReadAllLines(log))}");
        Assert.All(tries, line => Assert.Contains("(last network error: NetworkUnreachable)", line, StringComparison.Ordinal));
        Assert.Contains("watch stopped by signal", File.ReadAllText(log), StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.PathOf("out.txt")));
    }

    [Fact]
    public async Task Watch_mode_follows_the_command_across_a_gateway_restart_and_stops_cleanly_on_sigterm()
    {
        int port = Expect.FreeUdpPort();
        string state = _scratch.PathOf("led");
        await using GatewayProcess lightOn = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway-on.log"), port);
        using Process client = Programs.StartClient(Expect.ClientArguments(
            port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--watch", "0.2", "--timeout", "1", "--led-state", state));
        try
        {
            await WaitForState(state, "ON");
            Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));

            // The gateway goes away, and comes back serving the other page.
            await lightOn.StopAsync();
            await WaitForLog(_scratch.PathOf("c.log"), "trying again in"); // the watch noticed it gone
            await using GatewayProcess lightOff = await GatewayProcess.StartAsync(web.LightOff, _scratch.PathOf("gateway-off.log"), port);

            await WaitForState(state, "OFF");
            Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        }
        finally
        {
            Programs.Terminate(client);
            using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await client.WaitForExitAsync(timer.Token);
        }

        Assert.Equal(0, client.ExitCode);
        string log = File.ReadAllText(_scratch.PathOf("c.log"));
        Assert.Contains("command changed to COMMAND=LIGHTON", log, StringComparison.Ordinal);
        Assert.Contains("command changed to COMMAND=LIGHTOFF", log, StringComparison.Ordinal);
        Assert.Contains("trying again in", log, StringComparison.Ordinal);
        Assert.EndsWith("watch stopped by signal", log.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal(1, log.Split("command changed to COMMAND=LIGHTON").Length - 1); // applied once, not at every fetch
    }

    public void Dispose() => _scratch.Dispose();

    private static async Task WaitForLog(string path, string text)
    {
        var waited = Stopwatch.StartNew();
        while (!Shared(path).Contains(text, StringComparison.Ordinal))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"the client's log never said \"{text}\"");
            await Task.Delay(50);
        }
    }

    private static string Shared(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task WaitForState(string path, string expected)
    {
        var waited = Stopwatch.StartNew();
        while (!(File.Exists(path) && File.ReadAllText(path) == expected + "\n"))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"the LED state never became {expected}");
            await Task.Delay(50);
        }
    }
}
