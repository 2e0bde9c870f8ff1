using System.Net;
using System.Text.RegularExpressions;
using Anon.Lab;
using Anon.LoadGenerator;
using Anon.Protocol;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The load generator's engines against a real gateway: every transfer they count is the page byte
/// for byte, and the batched one really is many clients, each at an address of its own.
/// </summary>
public sealed partial class LoadGeneratorTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();
    private static readonly ClientOptions Options = new() { IdleTimeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task The_batched_engine_fetches_the_page_from_a_new_loopback_address_each_transfer()
    {
        var target = new IPEndPoint(IPAddress.Loopback, 0);
        Assert.True(BatchedSessions.CanReach(target));
        string log = _scratch.PathOf("gateway.log");
        Recorder recorder = new(Expect.Fixture("LIGHTON_COMMAND"));
        await using (GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, log, "--max-connection-rate", "0"))
        {
            recorder.Start();
            BatchedSessions.Run(new IPEndPoint(IPAddress.Loopback, gateway.Port), sessions: 8, TimeSpan.FromSeconds(1), Options, recorder);
            recorder.Stop();
            Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        }

        Assert.Equal(0, recorder.Failures);
        Assert.InRange(recorder.Transfers, 8, int.MaxValue);
        // The gateway's own account: a completed connection per transfer counted, each from its own
        // 127.1.x.y address (more may have completed after the generator stopped counting).
        string[] completed = [.. File.ReadLines(log).Select(line => CompletedFrom().Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value)];
        Assert.InRange(completed.Length, recorder.Transfers, recorder.Transfers + 8);
        Assert.Equal(completed.Length, completed.Distinct().Count());
        Assert.All(completed, address => Assert.StartsWith("127.1.", address, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_async_engine_fetches_the_page_over_a_socket_per_session()
    {
        Recorder recorder = new(Expect.Fixture("LIGHTON_COMMAND"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"), "--max-connection-rate", "0");
        // Until each session could have done one transfer, not for a fixed second: a loaded machine
        // once gave these four sessions no complete transfer in one second.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        recorder.Start();
        Task sessions = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => new Session(new IPEndPoint(IPAddress.Loopback, gateway.Port), Options, recorder).RunAsync(stop.Token)));
        while (recorder.Transfers < 4 && !stop.IsCancellationRequested)
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await sessions;
        recorder.Stop();

        Assert.Equal(0, recorder.Failures);
        Assert.InRange(recorder.Transfers, 4, int.MaxValue);
    }

    [Fact]
    public async Task A_transfer_whose_content_is_not_the_expected_page_counts_as_a_failure()
    {
        Recorder recorder = new(Expect.Fixture("LIGHTOFF_COMMAND")); // the gateway serves LIGHTON
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"), "--max-connection-rate", "0");
        recorder.Start();
        BatchedSessions.Run(new IPEndPoint(IPAddress.Loopback, gateway.Port), sessions: 2, TimeSpan.FromSeconds(0.5), Options, recorder);
        recorder.Stop();

        Assert.Equal(0, recorder.Transfers);
        Assert.InRange(recorder.Failures, 2, int.MaxValue);
    }

    public void Dispose() => _scratch.Dispose();

    [GeneratedRegex(@"connection from (\d+\.\d+\.\d+\.\d+):\d+ completed")]
    private static partial Regex CompletedFrom();
}
