using System.Globalization;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>Options from environment variables and a settings file; the command line wins.</summary>
public sealed class ConfigurationTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_client_takes_its_options_from_a_settings_file_and_the_environment()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));
        string settings = _scratch.PathOf("client.json");
        await File.WriteAllTextAsync(settings, $$"""{ "server": "127.0.0.1", "port": {{gateway.Port}}, "led-state": "{{_scratch.PathOf("led")}}" }""");
        var environment = new Dictionary<string, string> { ["ANON_CLIENT_LOG"] = _scratch.PathOf("c.log"), ["ANON_CLIENT_FILE"] = _scratch.PathOf("out.txt") };

        ProcessResult result = await Programs.RunAsync(Programs.ClientPath, ["--config", settings], TimeSpan.FromSeconds(60), environment);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Equal("ON\n", File.ReadAllText(_scratch.PathOf("led")));
    }

    [Fact]
    public async Task The_command_line_wins_over_the_environment()
    {
        var environment = new Dictionary<string, string>
        {
            ["ANON_GATEWAY_URL"] = "http://127.0.0.1:1/nowhere",
            ["ANON_GATEWAY_LOG"] = _scratch.PathOf("g.log"),
            ["ANON_GATEWAY_PORT"] = "0",
            ["ANON_GATEWAY_ALLOW"] = "127.0.0.0/8, ::1/128",
        };

        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath, ["--url", "notaurl"], TimeSpan.FromSeconds(60), environment);

        // The command line's (bad) URL was used, not the environment's: a usage error, not a download failure.
        Assert.Equal(64, result.ExitCode);
        Assert.Contains("'notaurl' is not an http:// or https:// URL", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_configured_by_its_environment_alone_serves()
    {
        var environment = new Dictionary<string, string>
        {
            ["ANON_GATEWAY_URL"] = web.LightOff.ToString(),
            ["ANON_GATEWAY_LOG"] = _scratch.PathOf("g.log"),
            ["ANON_GATEWAY_PORT"] = "0",
            ["ANON_GATEWAY_REFRESH"] = "0",
        };
        using var gateway = Programs.StartWithEnvironment(Programs.GatewayPath, [], environment);
        string banner = await gateway.StandardOutput.ReadLineAsync() ?? "";
        int port = int.Parse(banner[(banner.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

        ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));

        Programs.Terminate(gateway);
        await gateway.WaitForExitAsync();
        Assert.Contains("COMMAND=LIGHTOFF", banner, StringComparison.Ordinal);
        Assert.Equal(0, client.ExitCode);
        Assert.Equal(0, gateway.ExitCode);
    }

    [Fact]
    public async Task A_broken_settings_file_is_a_usage_error()
    {
        string settings = _scratch.PathOf("bad.json");
        await File.WriteAllTextAsync(settings, "{ not json");

        ProcessResult result = await Programs.RunAsync(Programs.ClientPath, ["--config", settings], TimeSpan.FromSeconds(60));

        Assert.Equal(64, result.ExitCode);
        Assert.Contains($"cannot read the settings file '{settings}'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelt_key_in_the_settings_file_is_a_usage_error_naming_it()
    {
        string settings = _scratch.PathOf("misspelt.json");
        await File.WriteAllTextAsync(settings, """{ "server": "127.0.0.1", "prot": 30000 }""");

        ProcessResult result = await Programs.RunAsync(
            Programs.ClientPath, ["--config", settings, "-p", "30000", "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("o")], TimeSpan.FromSeconds(60));

        Assert.Equal(64, result.ExitCode);
        Assert.Contains($"the settings file '{settings}' has \"prot\", which is no option; the keys are the long option names: server, port,", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_page_without_a_command_is_served_with_a_warning_or_with_require_command_refused()
    {
        Uri page = web.Server.Serve("hello", "HELLO WORLD\n"u8.ToArray());

        ProcessResult served;
        await using (GatewayProcess gateway = await GatewayProcess.StartAsync(page, _scratch.PathOf("g.log")))
        {
            served = await gateway.StopAsync();
        }

        ProcessResult refused = await Programs.RunAsync(
            Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g2.log"), "-w", page.ToString(), "--require-command"], TimeSpan.FromSeconds(60));

        Assert.Equal(0, served.ExitCode);
        Assert.Contains("anonGateway: warning: the page's first line is \"HELLO WORLD\", not a command", served.Error, StringComparison.Ordinal);
        Assert.Contains("warning: the page's first line is \"HELLO WORLD\", not a command", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
        Assert.Equal(76, refused.ExitCode);
        Assert.Contains("the page's first line is \"HELLO WORLD\", not a command (--require-command)", refused.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _scratch.Dispose();
}
