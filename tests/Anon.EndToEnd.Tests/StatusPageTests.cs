using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Anon.Lab;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>The gateway's --status page, in Debian's headless Chromium, its JSON and its Prometheus metrics.</summary>
public sealed class StatusPageTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private static readonly TimeSpan PageWait = TimeSpan.FromSeconds(20);
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_page_shows_the_live_figures_in_chromium_and_refreshes_itself()
    {
        string chromium = Repository.Tool("chromium", "chromium");
        int statusPort = Expect.FreeTcpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            web.LightOn, _scratch.PathOf("gateway.log"), "--status", $"127.0.0.1:{statusPort}");
        var status = new Uri($"http://127.0.0.1:{statusPort}/");
        await FetchAsync(gateway, 2);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        IPage page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 900 } });

        // The page as a user leaves it open: it shows the two transfers, then a third one without
        // anyone reloading it.
        await page.GotoAsync(status.ToString());
        await WaitForTextAsync(page, "#transfers", "2");
        Assert.Equal("COMMAND=LIGHTON", await page.TextContentAsync("#command"));
        Assert.Equal("13112", await page.TextContentAsync("#page-bytes"));
        await FetchAsync(gateway, 1);
        await WaitForTextAsync(page, "#transfers", "3");

        // The same figures, frozen (?refresh=0), against the JSON; and drawn: the screenshot of each
        // figure differs from the screenshot of the same element with its text made transparent.
        await page.GotoAsync(status + "?refresh=0");
        using HttpClient http = new();
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(new Uri(status, "status.json")));
        JsonElement traffic = json.RootElement.GetProperty("traffic");
        Assert.Equal(traffic.GetProperty("transfersCompleted").GetInt64().ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#transfers"));
        Assert.Equal(traffic.GetProperty("retransmissions").GetInt64().ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#retransmissions"));
        Assert.EndsWith(" ms", await page.TextContentAsync("#rtt"), StringComparison.Ordinal);
        foreach (string figure in new[] { "#command", "#transfers", "#rtt" })
        {
            ILocator element = page.Locator(figure);
            byte[] drawn = await element.ScreenshotAsync();
            await element.EvaluateAsync("element => element.style.color = 'transparent'");
            byte[] blank = await element.ScreenshotAsync();
            Assert.False(drawn.AsSpan().SequenceEqual(blank), $"{figure} is not drawn on the page");
        }

        string screenshot = Path.Combine(AppContext.BaseDirectory, "status-page.png");
        await page.GotoAsync(status + "?refresh=0");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot of the status page: {screenshot}");

        string metrics = await http.GetStringAsync(new Uri(status, "metrics"));
        Assert.Matches(@"\nanon_gateway_transfers_completed_total\{[^}]*\} 3\n", metrics); // labels: the meter's name and version
        Assert.Matches(@"\nanon_gateway_page_bytes\{[^}]*\} 13112\n", metrics);
    }

    [Fact]
    public async Task The_page_lists_an_open_connection_with_its_client_address()
    {
        int statusPort = Expect.FreeTcpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            web.LightOn, _scratch.PathOf("gateway.log"), "--status", $"127.0.0.1:{statusPort}");

        // A client that completes the handshake and then stays silent holds a connection open.
        using Socket client = Expect.StallAfterFirstSegment(new IPEndPoint(IPAddress.Loopback, gateway.Port));
        string clientAddress = client.LocalEndPoint!.ToString()!;

        using HttpClient http = new();
        string html = "";
        for (int attempt = 0; attempt < 40 && !html.Contains(clientAddress, StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(250);
            html = await http.GetStringAsync(new Uri($"http://127.0.0.1:{statusPort}/"));
        }

        Assert.Contains($"<td>{clientAddress}</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"figure\" id=\"open-connections\">1</td>", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8080")]
    [InlineData("localhost:8080")]
    [InlineData("127.0.0.1")]
    public async Task A_status_address_that_is_not_address_and_port_is_a_usage_error(string value)
    {
        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("gateway.log"), "-w", web.LightOn.ToString(), "--status", value], TimeSpan.FromSeconds(60));

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("--status", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_status_port_in_use_ends_the_gateway_with_a_clear_message()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("gateway.log"), "-w", web.LightOn.ToString(), "--status", $"127.0.0.1:{port}"], TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Contains($"cannot serve the status page on 127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
        Expect.NoStackTrace(result);
    }

    public void Dispose() => _scratch.Dispose();

    private async Task FetchAsync(GatewayProcess gateway, int times)
    {
        for (int i = 0; i < times; i++)
        {
            string name = Guid.NewGuid().ToString("N");
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf(name + ".log"), _scratch.PathOf(name + ".txt")));
            Assert.Equal(0, client.ExitCode);
        }
    }

    private static async Task WaitForTextAsync(IPage page, string selector, string text) =>
        await page.WaitForFunctionAsync(
            "([selector, text]) => document.querySelector(selector)?.textContent === text",
            new[] { selector, text },
            new() { Timeout = (float)PageWait.TotalMilliseconds });
}
