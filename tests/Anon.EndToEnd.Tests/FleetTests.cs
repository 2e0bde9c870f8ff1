using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Anon.Lab;
using Anon.Lab.Conformance;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// deploy/nginx/anon-fleet.conf, as shipped but for its ports, puts three gateways behind nginx's
/// UDP proxy: clients are spread over them, and when one stops new clients are still served.
/// </summary>
public sealed partial class FleetTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private const int ClientsPerWave = 50;
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task A_hundred_clients_through_nginx_all_get_the_page_before_and_after_one_of_three_gateways_stops_between_waves()
    {
        await WithFleetAsync(async (gateways, port) =>
        {
            TimeSpan first = await RunWaveAsync(port, "a");
            DateTime stopped = DateTime.UtcNow;
            Assert.Equal(0, (await gateways[1].StopAsync()).ExitCode);
            TimeSpan second = await RunWaveAsync(port, "b");

            foreach (GatewayProcess gateway in gateways)
            {
                await gateway.StopAsync();
            }

            // Read once every gateway has exited and so written its whole log.
            int[] servedBeforeTheStop = gateways.Select((_, i) => CompletedTransfers(i).Count(at => at < stopped)).ToArray();
            int[] served = gateways.Select((_, i) => CompletedTransfers(i).Length).ToArray();
            output.WriteLine($"wave of {ClientsPerWave} over 3 gateways: {first.TotalSeconds:F2} s; over 2, one stopped: {second.TotalSeconds:F2} s");
            output.WriteLine($"transfers per gateway before the stop: {string.Join(", ", servedBeforeTheStop)}; at the end: {string.Join(", ", served)}");
            Assert.All(servedBeforeTheStop, count => Assert.True(count > 0, "nginx sent no client to one of the gateways"));
            Assert.Equal(ClientsPerWave, servedBeforeTheStop.Sum());
            Assert.Equal(servedBeforeTheStop[1], served[1]);
            Assert.Equal(2 * ClientsPerWave, served.Sum());
        });
    }

    [Fact]
    public async Task A_gateway_stopped_in_the_middle_of_a_wave_fails_none_of_the_clients_it_held()
    {
        await WithFleetAsync(async (gateways, port) =>
        {
            // Before the wave, a client of the suite's holds its transfer open (it withholds its first
            // acknowledgment), so that the gateway nginx gave it certainly has a transfer in flight
            // when it is stopped; the stop comes once that gateway holds clients of the wave as well.
            using var holding = new ManualResetEventSlim();
            using var resume = new ManualResetEventSlim();
            using var probe = new Probe(new IPEndPoint(IPAddress.Loopback, port));
            Task<FetchResult> heldOpen = Task.Run(() => SuiteClient.Fetch(probe, new ClientScript
            {
                InjectBeforeAck = (segment, _) =>
                {
                    if (segment == 0)
                    {
                        holding.Set();
                        resume.Wait(TimeSpan.FromSeconds(30));
                    }

                    return [];
                },
            }));
            Assert.True(holding.Wait(TimeSpan.FromSeconds(10)), "the held client got no first segment through nginx");
            int[] Holders() => [.. Enumerable.Range(0, gateways.Length).Where(i => OpenedCount(i) > 0)];
            await Expect.EventuallyAsync(() => Holders().Length > 0, TimeSpan.FromSeconds(10), "a gateway logging the held client's connection");
            Assert.True(Holders().Length == 1, $"{Holders().Length} gateways logged a connection for the one held client");
            int held = Holders()[0];

            Task<TimeSpan> wave = RunWaveAsync(port, "m");
            await Expect.EventuallyAsync(() => OpenedCount(held) > 1, TimeSpan.FromSeconds(10), "the wave's clients reaching the held client's gateway");
            Assert.False(wave.IsCompleted, "the wave ended before the gateway held any of its clients");
            Task<ProcessResult> stopping = gateways[held].StopAsync();
            await Expect.EventuallyAsync(() => File.ReadAllText(GatewayLog(held)).Contains("stopping: ", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the gateway saying it is stopping");
            resume.Set();

            TimeSpan took = await wave; // asserts every client's exit code, output and file
            FetchResult heldResult = await heldOpen;
            ProcessResult stopped = await stopping;
            Assert.Equal(0, stopped.ExitCode);
            Assert.True(heldResult.Completed, heldResult.Stalled);
            Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), heldResult.Content.ToArray());
            string drained = File.ReadAllLines(GatewayLog(held)).Single(line => line.Contains("drained in", StringComparison.Ordinal));
            output.WriteLine($"wave of {ClientsPerWave} with a gateway stopped in it: {took.TotalSeconds:F2} s; {drained}");
            Match figures = DrainedLine().Match(drained);
            Assert.True(figures.Success, drained);
            int finished = int.Parse(figures.Groups["finished"].Value, CultureInfo.InvariantCulture);
            Assert.True(finished >= 1, drained);
            Assert.Equal(figures.Groups["total"].Value, figures.Groups["finished"].Value);
            Assert.EndsWith(" 0 cut at the drain timeout", drained, StringComparison.Ordinal);
        });
    }

    /// <summary>Connections the gateway's log says it opened ("connection from PEER opened").</summary>
    private int OpenedCount(int gateway) => File.ReadLines(GatewayLog(gateway))
        .Count(line => line.Contains("connection from ", StringComparison.Ordinal) && line.EndsWith(" opened", StringComparison.Ordinal));

    public void Dispose() => _scratch.Dispose();

    /// <summary>Three gateways behind nginx for <paramref name="test"/>, given the gateways and nginx's port; all stopped after it.</summary>
    private async Task WithFleetAsync(Func<GatewayProcess[], int, Task> test)
    {
        string nginx = Repository.Tool("nginx", "nginx");
        var gateways = new GatewayProcess[3];
        try
        {
            for (int i = 0; i < gateways.Length; i++)
            {
                // Behind a proxy every client has the proxy's address, so the per-address limit is off.
                gateways[i] = await GatewayProcess.StartAsync(web.LightOn, GatewayLog(i), Expect.FreeUdpPort(), "--max-connection-rate", "0");
            }

            int port = Expect.FreeUdpPort();
            using Process proxy = await StartNginxAsync(nginx, port, gateways.Select(gateway => gateway.Port).ToArray());
            try
            {
                await test(gateways, port);
            }
            finally
            {
                Programs.Terminate(proxy);
                await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            foreach (GatewayProcess? gateway in gateways)
            {
                if (gateway is not null)
                {
                    await gateway.DisposeAsync();
                }
            }
        }
    }

    /// <summary>Runs <see cref="ClientsPerWave"/> clients at once; each must write the page and switch the LED.</summary>
    private async Task<TimeSpan> RunWaveAsync(int port, string wave)
    {
        var clock = Stopwatch.StartNew();
        ProcessResult[] results = await Task.WhenAll(Enumerable.Range(0, ClientsPerWave).Select(i => Programs.RunClientAsync(
            Expect.ClientArguments(port, _scratch.PathOf($"client-{wave}{i}.log"), _scratch.PathOf($"out-{wave}{i}.txt")))));
        clock.Stop();
        byte[] page = Expect.Fixture("LIGHTON_COMMAND");
        for (int i = 0; i < results.Length; i++)
        {
            Assert.True(results[i].ExitCode == 0, $"client {wave}{i}: exit code {results[i].ExitCode}: {results[i].Error}");
            Assert.Contains("LED is ON", results[i].Output, StringComparison.Ordinal);
            Assert.Equal(page, File.ReadAllBytes(_scratch.PathOf($"out-{wave}{i}.txt")));
        }

        return clock.Elapsed;
    }

    /// <summary>
    /// Runs nginx in the foreground on the shipped stream configuration, its ports replaced by the
    /// test's, and waits until its worker has started.
    /// </summary>
    private async Task<Process> StartNginxAsync(string nginx, int port, int[] gatewayPorts)
    {
        string fleet = await File.ReadAllTextAsync(Repository.PathOf("deploy", "nginx", "anon-fleet.conf"));
        string[] servers = UpstreamServer().Matches(fleet).Select(match => match.Value).ToArray();
        Assert.Equal(gatewayPorts.Length, servers.Length);
        for (int i = 0; i < servers.Length; i++)
        {
            fleet = fleet.Replace(servers[i], "server 127.0.0.1:" + gatewayPorts[i].ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        Assert.Matches(ListenLine(), fleet);
        fleet = ListenLine().Replace(fleet, "listen 127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + " udp");
        await File.WriteAllTextAsync(_scratch.PathOf("anon-fleet.conf"), fleet);

        string errorLog = _scratch.PathOf("nginx-error.log");
        await File.WriteAllTextAsync(_scratch.PathOf("nginx.conf"), $$"""
            load_module /usr/lib/nginx/modules/ngx_stream_module.so;
            daemon off;
            worker_processes 1;
            pid {{_scratch.PathOf("nginx.pid")}};
            error_log {{errorLog}} notice;
            events { worker_connections 1024; }
            include {{_scratch.PathOf("anon-fleet.conf")}};
            """);

        Process process = Programs.StartWithEnvironment(
            nginx, ["-p", _scratch.Directory, "-c", _scratch.PathOf("nginx.conf"), "-e", errorLog], new Dictionary<string, string>());
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        for (int attempt = 0; attempt < 100 && !process.HasExited; attempt++)
        {
            if (File.Exists(errorLog) && (await File.ReadAllTextAsync(errorLog)).Contains("start worker process", StringComparison.Ordinal))
            {
                return process;
            }

            await Task.Delay(100);
        }

        string log = File.Exists(errorLog) ? await File.ReadAllTextAsync(errorLog) : "";
        process.Kill();
        process.Dispose();
        throw new InvalidOperationException("nginx did not start: " + log);
    }

    private string GatewayLog(int index) => _scratch.PathOf($"gateway-{index}.log");

    /// <summary>When each transfer that a gateway completed ended, from the timestamp of its log line.</summary>
    private DateTime[] CompletedTransfers(int index) => File.ReadLines(GatewayLog(index))
        .Where(line => line.Contains("completed: 13112 bytes", StringComparison.Ordinal))
        .Select(line => DateTime.Parse(line[..line.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal))
        .ToArray();

    [GeneratedRegex(@"drained in [\d.]+ s: (?<finished>\d+) of (?<total>\d+) transfers finished")]
    private static partial Regex DrainedLine();

    [GeneratedRegex(@"server 127\.0\.0\.1:\d+")]
    private static partial Regex UpstreamServer();

    [GeneratedRegex(@"listen \d+ udp( reuseport)?")]
    private static partial Regex ListenLine();
}
