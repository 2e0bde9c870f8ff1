using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// Both programs as systemd Type=notify services. The test plays systemd's part: it owns the
/// notification socket, and the program's parent is a shell copied under the name "systemd", which
/// is how the hosting library recognises a service.
/// </summary>
public sealed partial class SystemdTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_gateway_reports_ready_once_it_serves_and_stopping_on_sigterm()
    {
        using Socket notifications = NotificationSocket();
        using Process parent = StartUnderSystemd(Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", web.LightOn.ToString()]);
        try
        {
            string ready = await Receive(notifications);
            string banner = await parent.StandardOutput.ReadLineAsync() ?? "";
            int port = int.Parse(PortIn().Match(banner).Groups[1].Value, CultureInfo.InvariantCulture);
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));
            (string stopping, int exitCode) = await Stop(parent, notifications);

            Assert.Equal("READY=1", ready);
            Assert.Equal(0, client.ExitCode);
            Assert.Equal("STOPPING=1", stopping);
            Assert.Equal(0, exitCode);
        }
        finally
        {
            KillIfRunning(parent);
        }
    }

    [Fact]
    public async Task The_client_in_watch_mode_reports_ready_and_stopping_on_sigterm()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));
        using Socket notifications = NotificationSocket();
        using Process parent = StartUnderSystemd(
            Programs.ClientPath,
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--watch", "0.2", "--led-state", _scratch.PathOf("led")));
        try
        {
            string ready = await Receive(notifications);
            var waited = Stopwatch.StartNew();
            while (!File.Exists(_scratch.PathOf("led")) && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }

            (string stopping, int exitCode) = await Stop(parent, notifications);

            Assert.Equal("READY=1", ready);
            Assert.Equal("ON\n", File.ReadAllText(_scratch.PathOf("led")));
            Assert.Equal("STOPPING=1", stopping);
            Assert.Equal(0, exitCode);
        }
        finally
        {
            KillIfRunning(parent);
        }
    }

    public void Dispose() => _scratch.Dispose();

    private Socket NotificationSocket()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(_scratch.PathOf("notify.sock")));
        return socket;
    }

    /// <summary>Runs the program as the child of a shell named "systemd", with NOTIFY_SOCKET set; the shell passes its exit code on.</summary>
    private Process StartUnderSystemd(string program, IEnumerable<string> arguments)
    {
        string fakeSystemd = _scratch.PathOf("systemd");
        if (!File.Exists(fakeSystemd))
        {
            File.Copy("/bin/sh", fakeSystemd);
        }

        var start = new ProcessStartInfo(fakeSystemd) { RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment["NOTIFY_SOCKET"] = _scratch.PathOf("notify.sock");
        foreach (string argument in new[] { "-c", "\"$0\" \"$@\"; exit $?", program }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    /// <summary>SIGTERM to the program (the shell's child), then its last notification and its exit code.</summary>
    private static async Task<(string Notification, int ExitCode)> Stop(Process parent, Socket notifications)
    {
        int child = int.Parse(File.ReadAllText($"/proc/{parent.Id}/task/{parent.Id}/children").Split(' ')[0], CultureInfo.InvariantCulture);
        Programs.Terminate(Process.GetProcessById(child));
        string notification = await Receive(notifications);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await parent.WaitForExitAsync(timeout.Token);
        return (notification, parent.ExitCode);
    }

    private static void KillIfRunning(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    private static async Task<string> Receive(Socket socket)
    {
        byte[] buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    [GeneratedRegex(@"listening on UDP port (\d+)")]
    private static partial Regex PortIn();
}
