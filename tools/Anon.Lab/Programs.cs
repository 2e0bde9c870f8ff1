using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Anon.Io;

namespace Anon.Lab;

/// <summary>
/// Finds and runs the built anonGateway and anonclient, each in its own build output folder, or
/// the executables that ANON_GATEWAY_PATH and ANON_CLIENT_PATH name (another build of them, such
/// as a published or cross-compiled one).
/// </summary>
public static partial class Programs
{
    public static string GatewayPath => Locate("anonGateway", "AnonGatewayDirectory", "ANON_GATEWAY_PATH");

    public static string ClientPath => Locate("anonclient", "AnonClientDirectory", "ANON_CLIENT_PATH");

    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "fixtures");

    /// <summary>Runs a program to its end, at most <paramref name="timeout"/>; killed past it.</summary>
    public static async Task<ProcessResult> RunAsync(
        string path, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using Process process = Start(path, arguments, environment);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
            return new ProcessResult(-1, await output.ConfigureAwait(false), await error.ConfigureAwait(false) + $"\n(killed after {timeout.TotalSeconds} s)");
        }

        return new ProcessResult(process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }

    public static Task<ProcessResult> RunClientAsync(IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        RunAsync(ClientPath, arguments, timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Starts the client without waiting for it, its output discarded; the caller ends and disposes it.</summary>
    public static Process StartClient(IEnumerable<string> arguments)
    {
        Process process = Start(ClientPath, arguments);
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        return process;
    }

    internal static Process Start(string path, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"cannot start {path}");
    }

    /// <summary>Starts a program with extra environment variables, its output redirected; the caller reads, ends and disposes it.</summary>
    public static Process StartWithEnvironment(string path, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        Start(path, arguments, environment);

    /// <summary>Sends SIGTERM, the signal systemd and kill(1) stop services with.</summary>
    public static void Terminate(Process process)
    {
        if (SendSignal(process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"cannot signal process {process.Id}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>
    /// The program <paramref name="variable"/> names, or else the one in the output folder its build
    /// left it in, which the build recorded in this assembly.
    /// </summary>
    /// <exception cref="MissingDependencyException">It is not there: not built, anon-lab runs from a package away from any clone, or the variable names nothing.</exception>
    private static string Locate(string name, string directoryKey, string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } named)
        {
            return File.Exists(named) ? named : throw new MissingDependencyException($"{variable} names {named}, and there is no such file");
        }

        string directory = typeof(Programs).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == directoryKey).Value!;
        string path = Path.Combine(directory, OperatingSystem.IsWindows() ? name + ".exe" : name);
        return File.Exists(path)
            ? path
            : throw new MissingDependencyException(
                $"{name} is not built at {path}: this command runs the programs a clone of the repository builds (`dotnet build` there), or the one {variable} names");
    }
}

public sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>A running anonGateway, started on a free port, stopped with SIGTERM.</summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _restOfOutput;
    private readonly Task<string> _error;
    private bool _disposed;

    private GatewayProcess(Process process, int port, string firstLine)
    {
        _process = process;
        Port = port;
        Banner = firstLine;
        _restOfOutput = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
    }

    public int Port { get; }

    /// <summary>What the gateway printed when it started listening.</summary>
    public string Banner { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts the gateway on a free port and waits until it says which port it took.</summary>
    public static Task<GatewayProcess> StartAsync(Uri page, string logPath, params string[] extraArguments) =>
        StartAsync(page, logPath, 0, extraArguments);

    /// <summary>Starts the gateway on <paramref name="port"/> and waits until it listens.</summary>
    public static Task<GatewayProcess> StartAsync(Uri page, string logPath, int port, params string[] extraArguments) =>
        StartProgramAsync(Programs.GatewayPath, page, logPath, port, extraArguments);

    /// <summary>Starts the gateway at <paramref name="program"/> (another build of it) and waits until it listens.</summary>
    public static async Task<GatewayProcess> StartProgramAsync(string program, Uri page, string logPath, int port, params string[] extraArguments)
    {
        string portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process process = Programs.Start(program, ["-p", portText, "-l", logPath, "-w", page.ToString(), .. extraArguments]);
        using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line = await process.StandardOutput.ReadLineAsync(timer.Token).ConfigureAwait(false);
        Match match = line is null ? Match.Empty : ListeningLine().Match(line);
        if (!match.Success)
        {
            string error = await process.StandardError.ReadToEndAsync(timer.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
            int code = process.ExitCode;
            process.Dispose();
            throw new InvalidOperationException($"anonGateway did not start (exit code {code}): {line} {error}");
        }

        return new GatewayProcess(process, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), line!);
    }

    /// <summary>Sends SIGTERM and waits for the exit.</summary>
    public async Task<ProcessResult> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            Programs.Terminate(_process);
        }

        using var timer = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
        return new ProcessResult(_process.ExitCode, await _restOfOutput.ConfigureAwait(false), await _error.ConfigureAwait(false));
    }

    /// <summary>Kills the gateway if it still runs (SIGKILL: no clean shutdown). Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"listening on UDP port (\d+)")]
    private static partial Regex ListeningLine();
}
