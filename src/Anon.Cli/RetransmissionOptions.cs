using System.CommandLine;
using Anon.Protocol;
using Anon.Io;

namespace Anon.Cli;

/// <summary>The RTO bounds and retry budget as options of both programs.</summary>
public sealed class RetransmissionOptions
{
    private static readonly RetransmissionPolicy Defaults = RetransmissionPolicy.Default;

    private readonly DurationOption _initial = new(
        "--rto-initial", "Retransmission timeout before any round trip is measured, in milliseconds.", Defaults.InitialTimeout, inSeconds: false);

    private readonly DurationOption _minimum = new(
        "--rto-min", "Smallest retransmission timeout, in milliseconds.", Defaults.MinimumTimeout, inSeconds: false);

    private readonly DurationOption _maximum = new(
        "--rto-max", "Largest retransmission timeout after backoff, in milliseconds; raise it on a path slower than this.", Defaults.MaximumTimeout, inSeconds: false);

    private readonly Option<int> _retransmissions = new("--max-retransmissions")
    {
        Description = "How many times one packet is sent again before giving up.",
        HelpName = "n",
        DefaultValueFactory = _ => Defaults.MaximumRetransmissions,
        CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 1000, "a number of retransmissions"),
    };

    public IEnumerable<Option> Options => [_initial, _minimum, _maximum, _retransmissions];

    /// <exception cref="UsageException">The bounds contradict each other.</exception>
    public RetransmissionPolicy Read(ParseResult parsed)
    {
        var policy = new RetransmissionPolicy
        {
            InitialTimeout = _initial.Read(parsed),
            MinimumTimeout = _minimum.Read(parsed),
            MaximumTimeout = _maximum.Read(parsed),
            MaximumRetransmissions = parsed.GetValue(_retransmissions),
        };
        try
        {
            policy.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{e.Message} (--rto-initial, --rto-min, --rto-max)", e);
        }

        return policy;
    }
}
