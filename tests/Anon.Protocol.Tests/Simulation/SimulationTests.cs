using System.Globalization;
using Xunit.Abstractions;

namespace Anon.Protocol.Tests.Simulation;

/// <summary>
/// The gateway and client cores over seeded faulty networks in virtual time. Each seed fixes the
/// network's conditions, the content and every random choice; a failure names its seed, and
/// <c>ANON_SIM_SEED=N dotnet test --filter Replays_one_seed</c> runs that seed alone.
/// </summary>
public class SimulationTests(ITestOutputHelper output)
{
    private const int SeedCount = 1200;

    /// <summary>
    /// Up to this loss each way, in percent, every transfer must complete: with the default budget of
    /// 40 retransmissions a segment is lost for good with probability (1 - 0.6²)^41, about 1e-8.
    /// Above it (45 and 50 %) a clean failure is allowed; the figures show how many there were.
    /// </summary>
    private const int LossPercentThatMustNotFail = 40;

    [Fact]
    public void Over_1200_seeded_faulty_networks_every_transfer_is_byte_exact_or_fails_cleanly_on_both_sides()
    {
        var problems = new List<string>();
        var byLoss = new SortedDictionary<double, List<SimulationResult>>();
        for (int seed = 0; seed < SeedCount; seed++)
        {
            (NetworkConditions conditions, byte[] content) = Scenario(seed);
            SimulationResult result = new TransferSimulation(seed, conditions, content).Run();
            if (Check(result, conditions, content) is { } problem)
            {
                problems.Add($"seed {seed} ({conditions}, {content.Length} bytes): {problem}");
            }

            (byLoss.TryGetValue(conditions.Loss, out var list) ? list : byLoss[conditions.Loss] = []).Add(result);
        }

        output.WriteLine("loss  runs  completed  failed  median-transfer-time  p95-transfer-time  (virtual time, client start to content complete)");
        foreach ((double loss, List<SimulationResult> results) in byLoss)
        {
            double[] times = results.Where(r => r.Clients[0].IsComplete).Select(r => r.TransferTimes[0]!.Value.TotalSeconds).Order().ToArray();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{loss,4:P0}  {results.Count,4}  {times.Length,9}  {results.Count - times.Length,6}  {Percentile(times, 0.5),17:0.000} s  {Percentile(times, 0.95),14:0.000} s"));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems.Prepend($"{problems.Count} of {SeedCount} seeds failed; replay one with ANON_SIM_SEED=N:")));
    }

    [Fact]
    public void The_check_for_data_before_a_handshake_ack_catches_a_gateway_that_takes_any_ack_for_one()
    {
        // A forged ACK from the client's address, before the client starts and after it has closed: a
        // gateway that verifies no cookie opens a connection for each and sends data nobody asked for.
        // The gateway as built drops them (the same runs with its keyed cookies show no violation).
        foreach (bool broken in new[] { true, false })
        {
            var simulation = new TransferSimulation(
                seed: 5, new NetworkConditions(Delay: TimeSpan.FromMilliseconds(1)), Packets.Content(13112), cookies: broken ? new AnyAckOpensAConnection() : null);
            simulation.Forge(1, TimeSpan.Zero, Packets.Make(777, 4242, SegmentFlags.Ack));
            simulation.Forge(1, TimeSpan.FromSeconds(5), Packets.Make(888, 9999, SegmentFlags.Ack));
            SimulationResult result = simulation.Run();

            int caught = result.Violations.Count(v => v.Contains("before a handshake ACK", StringComparison.Ordinal));
            Assert.True(broken ? caught > 0 : result.Violations.Count == 0, $"{(broken ? "without" : "with")} cookie checks: {string.Join("; ", result.Violations)}");
        }
    }

    /// <summary>A broken cookie check: every ACK from anywhere completes a handshake.</summary>
    private sealed class AnyAckOpensAConnection : ISynCookieGenerator
    {
        public SequenceNumber Issue(PeerAddress client, SequenceNumber clientIsn, TimeSpan now) => new(100);

        public bool Verify(PeerAddress client, SequenceNumber clientIsn, SequenceNumber gatewayIsn, TimeSpan now) => true;
    }

    [Fact]
    public void Replays_one_seed()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ANON_SIM_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 7;
        (NetworkConditions conditions, byte[] content) = Scenario(seed);
        SimulationResult result = new TransferSimulation(seed, conditions, content).Run();

        output.WriteLine($"seed {seed}: {conditions}, {content.Length} bytes, {result.DatagramsSent} datagrams sent, {result.DatagramsLost} lost, " +
            $"client {result.Clients[0].State} after {result.Elapsed.TotalSeconds:0.000} s: {result.Clients[0].Failure}");
        Assert.Null(Check(result, conditions, content));
    }

    /// <summary>
    /// Why the RTO cap is 250 ms: with Karn's rule a lossy link holds the timeout at its cap, so the
    /// cap sets the wait. Virtual time makes these figures exact for the seeds, not machine-dependent.
    /// </summary>
    [Fact]
    public void At_30_percent_loss_the_250_ms_rto_cap_beats_longer_caps_without_failures()
    {
        byte[] content = Packets.Content(13112);
        var conditions = new NetworkConditions(Loss: 0.3, Delay: TimeSpan.FromMilliseconds(0.05), Jitter: TimeSpan.FromMilliseconds(0.05));
        var medians = new Dictionary<int, double>();
        foreach (int capMilliseconds in new[] { 1000, 500, 250 })
        {
            var policy = new RetransmissionPolicy { MaximumTimeout = TimeSpan.FromMilliseconds(capMilliseconds), MaximumRetransmissions = 40 };
            var clientOptions = new ClientOptions { Retransmission = policy, IdleTimeout = TimeSpan.FromSeconds(30) };
            double[] times = Enumerable.Range(0, 400)
                .Select(seed => new TransferSimulation(seed, conditions, content, clientOptions: clientOptions, gatewayOptions: new GatewayOptions { Retransmission = policy }).Run())
                .Select(result => result.TransferTimes[0]?.TotalSeconds ?? double.PositiveInfinity)
                .Order()
                .ToArray();
            medians[capMilliseconds] = Percentile(times, 0.5);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cap {capMilliseconds,4} ms: median {Percentile(times, 0.5):0.000} s, p95 {Percentile(times, 0.95):0.000} s, failures {times.Count(double.IsInfinity)}"));
            Assert.DoesNotContain(double.PositiveInfinity, times);
        }

        Assert.True(medians[250] < medians[500] && medians[500] < medians[1000]);
    }

    [Fact]
    public void Past_the_retry_budget_transfers_fail_cleanly_on_both_sides()
    {
        byte[] content = Packets.Content(13112);
        int failures = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var conditions = new NetworkConditions(Loss: 0.8, Delay: TimeSpan.FromMilliseconds(1));
            SimulationResult result = new TransferSimulation(seed, conditions, content).Run();

            Assert.Null(Check(result, conditions, content));
            failures += result.Clients.Count(c => c.State == ClientState.Failed);
        }

        Assert.True(failures > 0, "80 % loss should exhaust some retry budgets");
    }

    [Fact]
    public void Twenty_clients_at_once_over_a_lossy_network_all_get_the_page()
    {
        byte[] content = Packets.Content(13112);
        for (int seed = 0; seed < 20; seed++)
        {
            var conditions = new NetworkConditions(Loss: 0.10, Duplication: 0.05, Delay: TimeSpan.FromMilliseconds(1), Jitter: TimeSpan.FromMilliseconds(2));
            SimulationResult result = new TransferSimulation(seed, conditions, content, clientCount: 20).Run();

            Assert.Null(Check(result, conditions, content));
            Assert.All(result.Clients, c => Assert.True(c.IsComplete));
        }
    }

    [Fact]
    public void A_client_that_restarts_mid_transfer_replaces_its_connection_and_gets_the_whole_page()
    {
        byte[] content = Packets.Content(13112);
        var conditions = new NetworkConditions(Delay: TimeSpan.FromMilliseconds(1));
        var simulation = new TransferSimulation(1, conditions, content);
        simulation.RestartClient(1, after: TimeSpan.FromMilliseconds(15));
        SimulationResult result = simulation.Run();

        Assert.Null(Check(result, conditions, content));
        Assert.True(result.Clients[0].IsComplete);
        Assert.Equal(1, result.Gateway.Statistics.ConnectionsReplaced);
    }

    [Fact]
    public void Lingering_clients_let_the_gateway_close_cleanly_even_when_fin_acks_are_lost()
    {
        byte[] content = Packets.Content(2000);
        var options = new ClientOptions { Linger = TimeSpan.FromSeconds(3) };
        for (int seed = 0; seed < 100; seed++)
        {
            var conditions = new NetworkConditions(Loss: 0.2, Delay: TimeSpan.FromMilliseconds(1));
            SimulationResult result = new TransferSimulation(seed, conditions, content, clientOptions: options).Run();

            Assert.Null(Check(result, conditions, content));
            Assert.Equal(0, result.Gateway.Statistics.ConnectionsTimedOut);
            Assert.Equal(1, result.Gateway.Statistics.ConnectionsCompleted);
        }
    }

    /// <summary>
    /// What a short linger buys the gateway's count of clean closes: a client that has every byte
    /// but whose ACK|FIN is lost leaves the gateway to give the connection up, unless it is still
    /// there to answer the FIN's retransmission (TCP's TIME-WAIT, RFC 9293 §3.6.1). Prints, per
    /// loss rate and linger, how many of 300 transfers the client completed and the gateway counted
    /// as given up (docs/RELIABILITY.md has them), and holds the default to the goal: at 10 % loss
    /// each way, at most 1 in 60.
    /// </summary>
    [Fact]
    public void The_default_linger_leaves_at_most_1_in_60_completed_transfers_unconfirmed_at_10_percent_loss()
    {
        const int Seeds = 300;
        byte[] content = Packets.Content(13112);
        TimeSpan[] lingers = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];
        var unconfirmedAtDefault = new Dictionary<int, int>();
        foreach (int lossPercent in new[] { 0, 10, 30 })
        {
            var line = new System.Text.StringBuilder($"loss {lossPercent,2} %:");
            foreach (TimeSpan linger in lingers.Append(ClientOptions.Default.Linger).Distinct())
            {
                var conditions = new NetworkConditions(Loss: lossPercent / 100.0, Delay: TimeSpan.FromMilliseconds(0.5));
                int unconfirmed = 0;
                for (int seed = 0; seed < Seeds; seed++)
                {
                    SimulationResult result = new TransferSimulation(seed, conditions, content, clientOptions: new ClientOptions { Linger = linger }).Run();
                    Assert.True(result.Clients[0].IsComplete, $"seed {seed}: the client did not complete");
                    unconfirmed += (int)result.Gateway.Statistics.ConnectionsTimedOut;
                }

                line.Append(CultureInfo.InvariantCulture, $"  linger {linger.TotalMilliseconds,4:0} ms: {unconfirmed,3}/{Seeds}");
                if (linger == ClientOptions.Default.Linger)
                {
                    unconfirmedAtDefault[lossPercent] = unconfirmed;
                }
            }

            output.WriteLine(line.ToString());
        }

        Assert.Equal(0, unconfirmedAtDefault[0]);
        Assert.True(unconfirmedAtDefault[10] * 60 <= Seeds, $"{unconfirmedAtDefault[10]} of {Seeds} transfers the client completed were given up by the gateway at 10 % loss");
    }

    /// <summary>The network and content a seed stands for: loss from 0 to 50 % in steps of 5, and contents of awkward sizes.</summary>
    private static (NetworkConditions Conditions, byte[] Content) Scenario(int seed)
    {
        var random = new Random(seed);
        var conditions = new NetworkConditions(
            Loss: LossPercent(seed) / 100.0,
            Duplication: seed % 3 * 0.05,
            Delay: TimeSpan.FromMilliseconds(0.1 + (random.NextDouble() * 2)),
            Jitter: TimeSpan.FromMilliseconds(random.NextDouble() * 5),
            Garbage: seed % 4 == 0 ? 0.05 : 0);
        int length = (seed / 11 % 6) switch
        {
            0 => 13112,
            1 => 1541,
            2 => 512,
            3 => 0,
            4 => 1,
            _ => random.Next(0, 20_000),
        };
        return (conditions, Packets.Content(length));
    }

    /// <summary>A seed's loss each way in whole percent, 0 to 50 in steps of 5: compared as integers, never as doubles.</summary>
    private static int LossPercent(int seed) => seed % 11 * 5;

    /// <summary>What must hold after any run; null when it all does.</summary>
    private static string? Check(SimulationResult result, NetworkConditions conditions, byte[] content)
    {
        if (result.Violations.Count > 0)
        {
            return string.Join("; ", result.Violations);
        }

        if (result.Gateway.ConnectionCount != 0)
        {
            return $"the gateway still holds {result.Gateway.ConnectionCount} connections at the end";
        }

        foreach (ClientConnection client in result.Clients)
        {
            if (client.IsComplete && !client.Content.Span.SequenceEqual(content))
            {
                return $"the client received {client.Content.Length} bytes that differ from the {content.Length} sent";
            }

            if (client.State is not (ClientState.Closed or ClientState.Failed))
            {
                return $"a client ended in state {client.State}";
            }

            if (client.State == ClientState.Failed && !content.AsSpan().StartsWith(client.Content.Span))
            {
                return $"a failed client holds {client.Content.Length} bytes that are not the start of the page";
            }

            if (client.State == ClientState.Failed && (client.Failure is null || Math.Round(conditions.Loss * 100) <= LossPercentThatMustNotFail))
            {
                return $"a client failed: {client.Failure}";
            }
        }

        if (result.Gateway.Statistics.ConnectionsCompleted > result.Clients.Count(c => c.IsComplete))
        {
            return "the gateway completed a connection whose client did not complete";
        }

        return null;
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];
}
