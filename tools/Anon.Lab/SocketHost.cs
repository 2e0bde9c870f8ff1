using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Anon.Lab;

/// <summary>
/// <c>anon-lab socket-host</c>: holds one UDP socket and runs a program again and again, handing it
/// the socket as systemd's socket activation does (sd_listen_fds(3): descriptor 3, <c>LISTEN_FDS=1</c>,
/// <c>LISTEN_PID</c> its own pid), stopping each run with SIGTERM. What arrives between two runs
/// waits in the socket's queue, as it does under <c>systemctl restart</c> with a .socket unit. With
/// <c>--no-activation</c> it holds nothing: each run binds the port itself, a plain restart.
/// </summary>
internal static partial class SocketHost
{
    private const int SetDescriptorFlags = 2; // F_SETFD

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "UDP port on 127.0.0.1 (0: any free one, printed).", DefaultValueFactory = _ => 0 };
        var runs = new Option<int>("--runs") { Description = "How many times to start the program.", DefaultValueFactory = _ => 4 };
        var every = new Option<double>("--every") { Description = "Seconds each run serves before its SIGTERM.", DefaultValueFactory = _ => 3 };
        var stopTimeout = new Option<double>("--stop-timeout") { Description = "Seconds a run may take to exit after SIGTERM; killed past it.", DefaultValueFactory = _ => 15 };
        var noActivation = new Option<bool>("--no-activation") { Description = "Pass no socket: each run binds the port itself (put {port} in its arguments)." };
        var program = new Argument<string[]>("program") { Description = "The program and its arguments, after --; {port} is replaced by the port.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("socket-host", "Hold a UDP socket and run a program on it again and again, as systemd's socket activation does.")
        {
            port, runs, every, stopTimeout, noActivation, program,
        };
        command.SetAction(async (parsed, cancel) => await RunAsync(
            parsed.GetValue(port), parsed.GetValue(runs), TimeSpan.FromSeconds(parsed.GetValue(every)),
            TimeSpan.FromSeconds(parsed.GetValue(stopTimeout)), !parsed.GetValue(noActivation), parsed.GetRequiredValue(program), cancel)
            .ConfigureAwait(false));
        return command;
    }

    private static async Task<int> RunAsync(
        int port, int runs, TimeSpan every, TimeSpan stopTimeout, bool activation, string[] program, CancellationToken cancel)
    {
        using Socket? held = activation ? Bind(port) : null;
        if (held is not null)
        {
            port = ((IPEndPoint)held.LocalEndPoint!).Port;
        }
        else if (port == 0)
        {
            Console.Error.WriteLine("socket-host: --no-activation needs a --port");
            return 64;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"socket-host: UDP port {port}, {runs} runs of {every.TotalSeconds:0.###} s{(activation ? "" : ", no activation")}"));
        int failed = 0;
        for (int run = 1; run <= runs && !cancel.IsCancellationRequested; run++)
        {
            using Process process = Start(held, program.Select(a => a.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)));
            Task<string> output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            Task<string> error = process.StandardError.ReadToEndAsync(CancellationToken.None);
            Console.WriteLine($"socket-host: run {run} started (pid {process.Id})");
            await Task.WhenAny(process.WaitForExitAsync(CancellationToken.None), Task.Delay(every, cancel)).ConfigureAwait(false);
            var stopping = Stopwatch.StartNew();
            if (!process.HasExited)
            {
                Programs.Terminate(process);
            }

            using var deadline = new CancellationTokenSource(stopTimeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            string stderr = (await error.ConfigureAwait(false)).Trim();
            await output.ConfigureAwait(false);
            failed += process.ExitCode == 0 ? 0 : 1;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"socket-host: run {run} exited with {process.ExitCode}, {stopping.Elapsed.TotalMilliseconds:0} ms after SIGTERM{(stderr.Length > 0 ? $": {stderr}" : "")}"));
        }

        return failed == 0 ? 0 : 1;
    }

    private static Socket Bind(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    /// <summary>
    /// Starts the program through bash, which moves the held socket to descriptor 3 and sets
    /// LISTEN_PID to its own pid before it execs the program (exec keeps the pid), as systemd does
    /// between fork and exec. The socket is made inheritable for the moment of the start only.
    /// </summary>
    private static Process Start(Socket? held, IEnumerable<string> program)
    {
        var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        if (held is null)
        {
            start.ArgumentList.Add("exec \"$@\"");
        }
        else
        {
            int descriptor = (int)held.SafeHandle.DangerousGetHandle();
            string move = descriptor == 3 ? "" : $"exec 3<&{descriptor} {descriptor}<&-; ";
            start.ArgumentList.Add($"{move}export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$@\"");
        }

        start.ArgumentList.Add("bash");
        foreach (string argument in program)
        {
            start.ArgumentList.Add(argument);
        }

        if (held is null)
        {
            return Process.Start(start) ?? throw new InvalidOperationException("cannot start the program");
        }

        int fd = (int)held.SafeHandle.DangerousGetHandle();
        SetInheritable(fd, inheritable: true);
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException("cannot start the program");
        }
        finally
        {
            SetInheritable(fd, inheritable: false);
        }
    }

    private static void SetInheritable(int descriptor, bool inheritable)
    {
        if (SetFlags(descriptor, SetDescriptorFlags, inheritable ? 0 : 1) != 0) // FD_CLOEXEC = 1
        {
            throw new InvalidOperationException($"fcntl(F_SETFD) failed on descriptor {descriptor}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SetFlags(int descriptor, int command, int flags);
}
