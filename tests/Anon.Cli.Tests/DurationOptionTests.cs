using System.CommandLine;

namespace Anon.Cli.Tests;

/// <summary>A duration option reads its number in its own unit, once, as a TimeSpan.</summary>
public class DurationOptionTests
{
    private static (TimeSpan Value, string[] Errors) Parse(DurationOption option, params string[] arguments)
    {
        var root = new RootCommand { option };
        ParseResult parsed = root.Parse(arguments);
        return (parsed.Errors.Count == 0 ? option.Read(parsed) : TimeSpan.Zero, [.. parsed.Errors.Select(error => error.Message)]);
    }

    [Fact]
    public void Seconds_and_milliseconds_are_read_in_their_own_unit()
    {
        Assert.Equal(TimeSpan.FromSeconds(1.5), Parse(new DurationOption("--timeout", "", TimeSpan.FromSeconds(10), inSeconds: true), "--timeout", "1.5").Value);
        Assert.Equal(TimeSpan.FromMilliseconds(250), Parse(new DurationOption("--rto-max", "", TimeSpan.FromSeconds(1), inSeconds: false), "--rto-max", "250").Value);
    }

    [Fact]
    public void Without_the_option_its_default_is_read_and_the_help_shows_it_as_a_number()
    {
        var option = new DurationOption("--linger", "", TimeSpan.FromMilliseconds(500), inSeconds: false);

        Assert.Equal(TimeSpan.FromMilliseconds(500), Parse(option).Value);
        Assert.Equal("ms", option.HelpName);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("86401")]
    public void What_is_not_a_duration_in_range_is_an_error_that_names_the_option_and_its_unit(string given)
    {
        (_, string[] errors) = Parse(new DurationOption("--refresh", "", TimeSpan.FromSeconds(60), inSeconds: true), "--refresh", given);

        Assert.Equal([$"'{given}' is not a duration for --refresh: give a number of seconds"], errors);
    }
}
