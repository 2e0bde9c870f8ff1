using System.Text.Json;
using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The last good page on disk (--cache-dir): a gateway restarted while its upstream is down serves
/// it, and revalidates it with a conditional GET once upstream is back; a corrupted or too old copy
/// is never served.
/// </summary>
public sealed class CacheTests(ITestOutputHelper output) : IDisposable
{
    private readonly Scratch _scratch = new();

    private string CacheDirectory => _scratch.PathOf("cache");

    [Fact]
    public async Task Restarted_while_upstream_is_down_the_gateway_serves_its_cached_copy_and_revalidates_it_when_upstream_returns()
    {
        (Uri url, int port) = await FetchOnceWithUpstreamUpAsync();

        int statusPort = Expect.FreeTcpPort();
        GatewayProcess gateway = await GatewayProcess.StartAsync(
            url, _scratch.PathOf("g2.log"), "--cache-dir", CacheDirectory, "--refresh", "1", "--status", $"127.0.0.1:{statusPort}");
        await using (gateway)
        {
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out2")));
            Assert.Equal(0, client.ExitCode);
            Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out2")));

            // The status page says where the page came from while upstream is away.
            using var http = new HttpClient();
            using (JsonDocument status = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{statusPort}/status.json"))))
            {
                Assert.True(status.RootElement.GetProperty("page").GetProperty("fromCache").GetBoolean());
            }

            Assert.Matches(@"\nanon_gateway_page_from_cache\{[^}]*\} 1\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{statusPort}/metrics")));

            // Upstream back on the same address: the next refresh asks with the cached validators.
            await using PageServer back = await PageServer.StartAsync(port);
            back.ServeDirectory(Programs.FixturesDirectory);
            for (int attempt = 0; attempt < 200 && back.NotModified == 0; attempt++)
            {
                await Task.Delay(100);
            }

            Assert.True(back.NotModified >= 1, $"no conditional request answered 304 ({back.Requests} requests, {back.ConditionalRequests} conditional)");
            ProcessResult stopped = await gateway.StopAsync();
            output.WriteLine(stopped.Error);
            Assert.Equal(0, stopped.ExitCode);
            Assert.Contains($"serving the copy kept in {Path.Combine(CacheDirectory, "page")}", stopped.Error, StringComparison.Ordinal);
        }

        string log = File.ReadAllText(_scratch.PathOf("g2.log"));
        Assert.Contains("upstream failed (cannot download", log, StringComparison.Ordinal);
        Assert.Contains("works again after", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupted_cached_copy_is_refused_and_the_start_fails_as_without_one()
    {
        (Uri url, _) = await FetchOnceWithUpstreamUpAsync();
        string file = Path.Combine(CacheDirectory, "page");
        byte[] bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0x20; // one bit of the page's last byte
        File.WriteAllBytes(file, bytes);

        ProcessResult result = await Programs.RunAsync(Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g2.log"), "-w", url.ToString(), "--cache-dir", CacheDirectory], TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("its checksum does not match (torn or corrupted)", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_cached_copy_older_than_max_stale_is_not_served()
    {
        (Uri url, _) = await FetchOnceWithUpstreamUpAsync();

        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g2.log"), "-w", url.ToString(), "--cache-dir", CacheDirectory, "--max-stale", "0"], TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("longer than --max-stale 0 s allows", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cache_that_cannot_be_written_is_a_warning_and_the_page_is_served_all_the_same()
    {
        await File.WriteAllTextAsync(_scratch.PathOf("a-file"), "not a directory");
        await using PageServer upstream = await PageServer.StartAsync();
        upstream.ServeDirectory(Programs.FixturesDirectory);

        ProcessResult stopped;
        await using (GatewayProcess gateway = await GatewayProcess.StartAsync(
            new Uri(upstream.BaseAddress, "LIGHTON_COMMAND"), _scratch.PathOf("g.log"), "--cache-dir", _scratch.PathOf("a-file/cache")))
        {
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out")));
            Assert.Equal(0, client.ExitCode);
            stopped = await gateway.StopAsync();
        }

        Assert.Equal(0, stopped.ExitCode);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out")));
        Assert.Contains("anonGateway: warning: ", stopped.Error, StringComparison.Ordinal);
        Assert.Contains("; the page is served all the same", stopped.Error, StringComparison.Ordinal);
        Assert.Contains("warning: ", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>A gateway with the cache serves once while upstream is up and stops; then upstream goes away. Returns the page's URL and upstream's port.</summary>
    private async Task<(Uri Url, int Port)> FetchOnceWithUpstreamUpAsync()
    {
        int port;
        Uri url;
        await using (PageServer upstream = await PageServer.StartAsync())
        {
            upstream.ServeDirectory(Programs.FixturesDirectory);
            url = new Uri(upstream.BaseAddress, "LIGHTON_COMMAND");
            port = upstream.BaseAddress.Port;
            await using GatewayProcess first = await GatewayProcess.StartAsync(url, _scratch.PathOf("g1.log"), "--cache-dir", CacheDirectory);
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(first.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out1")));
            Assert.Equal(0, client.ExitCode);
            Assert.Equal(0, (await first.StopAsync()).ExitCode);
        }

        Assert.True(File.Exists(Path.Combine(CacheDirectory, "page")), "the gateway kept no copy");
        return (url, port);
    }
}
