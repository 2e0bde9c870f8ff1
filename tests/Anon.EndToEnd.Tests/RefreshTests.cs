using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>The gateway following its page: conditional refreshes, changes, a failing server.</summary>
public sealed class RefreshTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_gateway_revalidates_with_its_etag_and_serves_a_changed_page_to_the_next_client()
    {
        Uri url = web.Server.Serve("changing", Expect.Fixture("LIGHTON_COMMAND"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, _scratch.PathOf("g.log"), "--refresh", "0.2");
        int notModifiedBefore = web.Server.NotModified;

        Assert.Contains("LED is ON", (await Fetch(gateway, "1")).Output, StringComparison.Ordinal);
        await Expect.EventuallyAsync(() => web.Server.NotModified > notModifiedBefore, TimeSpan.FromSeconds(60), "a conditional request answered 304");

        web.Server.Serve("changing", Expect.Fixture("LIGHTOFF_COMMAND"));
        await Expect.EventuallyAsync(() => LogContains("page changed: now 13113 bytes, COMMAND=LIGHTOFF (was COMMAND=LIGHTON)"), TimeSpan.FromSeconds(60), "the gateway noticing the change");
        ProcessResult after = await Fetch(gateway, "2");

        Assert.Contains("LED is OFF", after.Output, StringComparison.Ordinal);
        Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out2.txt")));
    }

    [Fact]
    public async Task A_failing_server_leaves_the_last_good_copy_served_until_it_recovers()
    {
        Uri url = web.Server.Serve("flaky", Expect.Fixture("LIGHTON_COMMAND"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, _scratch.PathOf("g.log"), "--refresh", "0.2");

        web.Server.Remove("flaky");
        await Expect.EventuallyAsync(() => LogContains("refresh failed: cannot download"), TimeSpan.FromSeconds(60), "a failed refresh");
        ProcessResult during = await Fetch(gateway, "1");
        Assert.Equal(0, during.ExitCode);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out1.txt")));

        web.Server.Serve("flaky", Expect.Fixture("LIGHTOFF_COMMAND"));
        await Expect.EventuallyAsync(() => LogContains("works again") && LogContains("page changed"), TimeSpan.FromSeconds(60), "the refresh recovering");
        Assert.Contains("LED is OFF", (await Fetch(gateway, "2")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_whose_max_age_has_not_run_out_is_not_asked_for_again()
    {
        Uri url = web.Server.Serve("cached", Expect.Fixture("LIGHTON_COMMAND"), maxAge: TimeSpan.FromHours(1));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, _scratch.PathOf("g.log"), "--refresh", "0.2");
        int requests = web.Server.Requests;

        // The gateway says when it will ask again: not before the hour is up.
        await Expect.EventuallyAsync(() => LogContains("max-age keeps the page fresh for 3600 s: refreshing after that, not every 0.2 s"), TimeSpan.FromSeconds(60), "the refresh schedule");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // seven and more --refresh intervals: none of them asks

        Assert.Equal(requests, web.Server.Requests);
    }

    public void Dispose() => _scratch.Dispose();

    private Task<ProcessResult> Fetch(GatewayProcess gateway, string name) =>
        Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf($"c{name}.log"), _scratch.PathOf($"out{name}.txt")));

    private bool LogContains(string text)
    {
        using var stream = new FileStream(_scratch.PathOf("g.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Contains(text, StringComparison.Ordinal);
    }
}
