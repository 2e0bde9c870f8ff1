using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Anon.Io;

namespace Anon.Cli;

/// <summary>
/// Options from a JSON settings file (<c>--config FILE</c>) and from environment variables
/// (<c>ANON_GATEWAY_PORT</c>, <c>ANON_CLIENT_SERVER</c>, …), read with Microsoft.Extensions.Configuration
/// and handed to the parser as if they had been typed before the user's own arguments. Precedence:
/// the file, then the environment, then the command line, which always wins.
/// </summary>
public static class ConfiguredArguments
{
    /// <summary>The <c>--config FILE</c> option; add it to the command so that help lists it.</summary>
    public static Option<string> ConfigOption(string environmentPrefix) => new("--config")
    {
        Description = $"Read options from this JSON file, such as {{\"port\": 30000}}; variables {environmentPrefix}PORT and so on work too. The command line wins.",
        HelpName = "file",
    };

    /// <summary>The arguments with what the file and the environment add; the same array when they add nothing.</summary>
    /// <exception cref="UsageException">The settings file cannot be read.</exception>
    public static string[] Expand(RootCommand root, string[] args, string environmentPrefix)
    {
        string? file = ConfigFile(args);
        bool fromEnvironment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Any(name => name.StartsWith(environmentPrefix, StringComparison.Ordinal));
        if (file is null && !fromEnvironment)
        {
            return args; // nothing to read: no configuration assembly gets loaded
        }

        IConfiguration configuration = Build(file, environmentPrefix);
        if (file is not null)
        {
            RefuseUnknownKeys(root, file);
        }

        var added = new List<string>();
        foreach (Option option in root.Options)
        {
            string key = option.Name.TrimStart('-');
            if (key is "config" or "help" or "version" || IsOnCommandLine(option, args))
            {
                continue;
            }

            IConfigurationSection? section = configuration.GetChildren()
                .FirstOrDefault(child => Normalize(child.Key) == key);
            if (section is null)
            {
                continue;
            }

            string[] values = section.Value is { } single
                ? single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [.. section.GetChildren().Select(child => child.Value).OfType<string>()];
            if (option is Option<bool>)
            {
                if (values is [var flag] && bool.TryParse(flag, out bool on) && on)
                {
                    added.Add(option.Name);
                }

                continue;
            }

            foreach (string value in values)
            {
                added.Add(option.Name);
                added.Add(value);
            }
        }

        return [.. added, .. args];
    }

    private static IConfiguration Build(string? file, string? environmentPrefix)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }

        if (environmentPrefix is not null)
        {
            builder.AddEnvironmentVariables(environmentPrefix);
        }

        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the settings file '{file}': {e.Message}", e);
        }
    }

    /// <summary>
    /// A key of the file that names no option is a mistake to report, not to skip: a misspelt
    /// "prot" would otherwise leave the port to its default in silence. (The environment is not
    /// checked: ANON_GATEWAY_OPTIONS and the like belong to the systemd units' settings files.)
    /// </summary>
    /// <exception cref="UsageException">A key names no option.</exception>
    private static void RefuseUnknownKeys(RootCommand root, string file)
    {
        string[] known = [.. root.Options.Select(option => option.Name.TrimStart('-')).Where(name => name is not ("config" or "help" or "version" or "?"))];
        foreach (IConfigurationSection section in Build(file, environmentPrefix: null).GetChildren())
        {
            if (!known.Contains(Normalize(section.Key)))
            {
                throw new UsageException($"the settings file '{file}' has \"{section.Key}\", which is no option; the keys are the long option names: {string.Join(", ", known)}");
            }
        }
    }

    /// <summary>"MAX_SIZE" (environment) and "max-size" or "Max-Size" (file) name the option --max-size.</summary>
    private static string Normalize(string key) => key.Replace('_', '-').ToLowerInvariant();

    private static bool IsOnCommandLine(Option option, string[] args) =>
        args.Any(arg => option.Name == arg || option.Aliases.Contains(arg) || arg.StartsWith(option.Name + "=", StringComparison.Ordinal));

    private static string? ConfigFile(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }
}
