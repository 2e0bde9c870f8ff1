using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Anon.Io;

namespace Anon.Cli;

/// <summary>Command-line conventions both programs share: option parsers, error reporting, exit codes.</summary>
public static class CommandLineApp
{
    /// <summary>
    /// Parses and runs <paramref name="root"/>. A usage error prints one line per problem and exits
    /// with <see cref="ExitCodes.Usage"/>; an <see cref="OperationFailedException"/> prints its message
    /// and exits with its kind's code (<see cref="ExitCodes.For"/>); anything else is a bug, reported
    /// without a stack trace unless ANON_DEBUG=1.
    /// </summary>
    /// <param name="environmentPrefix">Prefix of the environment variables that may give options (see <see cref="ConfiguredArguments"/>).</param>
    /// <summary>
    /// Prints what the parser found wrong, a line each, and the help to ask for (of the subcommand
    /// given, if any); true when there was something, for the caller to exit with <see cref="ExitCodes.Usage"/>.
    /// </summary>
    public static bool ReportUsageErrors(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        if (parsed.Errors.Count == 0)
        {
            return false;
        }

        var path = new List<string>();
        for (SymbolResult? result = parsed.CommandResult; result is CommandResult command; result = command.Parent)
        {
            path.Insert(0, command.Command.Name);
        }

        foreach (ParseError error in parsed.Errors)
        {
            Console.Error.WriteLine($"{path[0]}: {error.Message}");
        }

        Console.Error.WriteLine($"Try '{string.Join(' ', path)} --help' for more information.");
        return true;
    }

    public static int Run(RootCommand root, string[] args, string environmentPrefix)
    {
        string name = root.Name;
        root.Options.Add(ConfiguredArguments.ConfigOption(environmentPrefix));
        try
        {
            args = ConfiguredArguments.Expand(root, args, environmentPrefix);
        }
        catch (OperationFailedException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return ExitCodes.For(e);
        }

        ParseResult parsed = root.Parse(args);
        if (ReportUsageErrors(parsed))
        {
            return ExitCodes.Usage;
        }

        // Each program handles SIGINT and SIGTERM itself (the host, the client's loop).
        return Invoke(parsed, new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
    }

    /// <summary>
    /// Runs the parsed command's action; a failure it meets is one line on stderr and its exit code
    /// (<see cref="ExitCodes.For"/>), anything else is a bug: one line and 70, the stack trace only
    /// with <c>ANON_DEBUG=1</c>.
    /// </summary>
    /// <param name="configuration">How to invoke; its default exception handler must be off, or this one never runs.</param>
    public static int Invoke(ParseResult parsed, InvocationConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        string name = parsed.RootCommandResult.Command.Name;
        try
        {
            return parsed.Invoke(configuration);
        }
        catch (OperationFailedException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return ExitCodes.For(e);
        }
#pragma warning disable CA1031 // The last line of defence: a bug still ends in one clear line and an exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"{name}: internal error: {e.Message}");
            if (Environment.GetEnvironmentVariable("ANON_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }

            return ExitCodes.InternalError;
        }
    }

    /// <summary>A UDP port option (<c>-p</c>, <c>--port</c>) that rejects what is not a port with a clear message.</summary>
    /// <param name="allowZero">True where 0 means "any free port, chosen by the system".</param>
    public static Option<int> PortOption(string description, bool allowZero)
    {
        int lowest = allowZero ? 0 : 1;
        return new Option<int>("--port", "-p")
        {
            Description = description,
            HelpName = "port",
            Required = true,
            CustomParser = result => (int)ParseInteger(result, lowest, ushort.MaxValue, "a port number"),
        };
    }

    /// <summary><c>--initial-seq N</c>: fixes the ISN; <paramref name="replaces"/> says what it stands in for (a random number, a SYN cookie).</summary>
    public static Option<uint?> InitialSequenceOption(string replaces) => new("--initial-seq")
    {
        HelpName = "n",
        Description = $"Use this initial sequence number instead of {replaces} (tests; replaying the spec's sample).",
        CustomParser = result => (uint)ParseInteger(result, 0, uint.MaxValue, "a sequence number (0 to 4294967295)"),
    };

    /// <summary>The first token given to an option, or "" when none was: what a custom parser reads.</summary>
    public static string FirstToken(ArgumentResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
    }

    /// <summary>A whole number between <paramref name="lowest"/> and <paramref name="highest"/>, with a message naming what it should be.</summary>
    public static long ParseInteger(ArgumentResult result, long lowest, long highest, string what)
    {
        string token = FirstToken(result);
        if (!long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            || value < lowest || value > highest)
        {
            string option = result.Parent is OptionResult parent ? parent.Option.Name : "the option";
            result.AddError($"'{token}' is not {what} for {option} ({lowest} to {highest})");
            return lowest;
        }

        return value;
    }
}
