using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>The README's first command, `dotnet run --project tools/Anon.Lab -v m -- demo`, does what the README shows.</summary>
public sealed partial class DemoTests
{
    [Fact]
    public async Task The_demo_fetches_both_pages_and_switches_the_led_on_then_off()
    {
        using var output = new StringWriter();

        int exitCode = await Demo.RunAsync(output);

        string text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("LED is ON", text, StringComparison.Ordinal);
        Assert.Contains("LED is OFF", text, StringComparison.Ordinal);
        Assert.Equal(2, ReceivedLine().Count(text));
        Assert.Contains("(gateway stopped with SIGTERM: exit code 0)", text, StringComparison.Ordinal);

        // The demo keeps its logs and files for the reader; this test does not.
        string directory = LogsLine().Match(text).Groups[1].Value.Trim();
        Assert.True(Directory.Exists(directory), text);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Without_the_programs_the_demo_says_so_in_one_line_with_exit_code_69()
    {
        string lab = Path.Combine(Path.GetDirectoryName(typeof(Programs).Assembly.Location)!, "anon-lab");
        var environment = new Dictionary<string, string> { ["ANON_GATEWAY_PATH"] = "/nonexistent/anonGateway" };

        ProcessResult result = await Programs.RunAsync(lab, ["demo"], TimeSpan.FromSeconds(60), environment);

        Assert.Equal(69, result.ExitCode);
        Assert.Equal("anon-lab: ANON_GATEWAY_PATH names /nonexistent/anonGateway, and there is no such file", result.Error.Trim());
    }

    [GeneratedRegex(@"received 1311[23] bytes from 127\.0\.0\.1:\d+")]
    private static partial Regex ReceivedLine();

    [GeneratedRegex(@"Logs and files are in (.+)")]
    private static partial Regex LogsLine();
}
