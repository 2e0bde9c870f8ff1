using System.CommandLine;
using System.Globalization;

namespace Anon.Cli;

/// <summary>
/// A duration given as a number of seconds or milliseconds, the unit shown in the help (whose
/// default then reads "5", not "00:00:05"), and read once, here, as a <see cref="TimeSpan"/>.
/// </summary>
public sealed class DurationOption : Option<double>
{
    private readonly bool _inSeconds;

    /// <param name="maximum">The largest number accepted, read as seconds: 86,400 unless given.</param>
    public DurationOption(string name, string description, TimeSpan defaultValue, bool inSeconds, TimeSpan? maximum = null)
        : base(name)
    {
        _inSeconds = inSeconds;
        double longest = (maximum ?? TimeSpan.FromDays(1)).TotalSeconds;
        string unit = inSeconds ? "seconds" : "ms";
        Description = description;
        HelpName = unit;
        DefaultValueFactory = _ => inSeconds ? defaultValue.TotalSeconds : defaultValue.TotalMilliseconds;
        CustomParser = result =>
        {
            string token = CommandLineApp.FirstToken(result);
            if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                || double.IsNaN(value) || value < 0 || value > longest)
            {
                result.AddError($"'{token}' is not a duration for {name}: give a number of {unit}");
                return 0;
            }

            return value;
        };
    }

    /// <summary>The duration the command line gave, or the default.</summary>
    public TimeSpan Read(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        double value = parsed.GetValue(this);
        return _inSeconds ? TimeSpan.FromSeconds(value) : TimeSpan.FromMilliseconds(value);
    }
}
