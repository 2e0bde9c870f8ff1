using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The gateway as a systemd Type=notify service. The test plays systemd's part: it owns the
/// notification socket, and the gateway's parent is a shell copied under the name "systemd", which
/// is how the hosting library recognises a service.
/// </summary>
public sealed partial class SystemdTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_gateway_reports_ready_once_it_serves_and_stopping_on_sigterm()
    {
        string socketPath = _scratch.PathOf("notify.sock");
        using var notifications = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notifications.Bind(new UnixDomainSocketEndPoint(socketPath));
        string fakeSystemd = _scratch.PathOf("systemd");
        File.Copy("/bin/sh", fakeSystemd);

        var start = new ProcessStartInfo(fakeSystemd) { RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        foreach (string argument in new[] { "-c", "\"$0\" \"$@\"; exit $?", Programs.GatewayPath, "-p", "0", "-l", _scratch.PathOf("g.log"), "-w", web.LightOn.ToString() })
        {
            start.ArgumentList.Add(argument);
        }

        using Process parent = Process.Start(start)!;
        try
        {
            string ready = await Receive(notifications);
            string banner = await parent.StandardOutput.ReadLineAsync() ?? "";
            int port = int.Parse(PortIn().Match(banner).Groups[1].Value, CultureInfo.InvariantCulture);
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));

            int gateway = int.Parse(File.ReadAllText($"/proc/{parent.Id}/task/{parent.Id}/children").Split(' ')[0], CultureInfo.InvariantCulture);
            Programs.Terminate(Process.GetProcessById(gateway));
            string stopping = await Receive(notifications);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await parent.WaitForExitAsync(timeout.Token);

            Assert.Equal("READY=1", ready);
            Assert.Equal(0, client.ExitCode);
            Assert.Equal("STOPPING=1", stopping);
            Assert.Equal(0, parent.ExitCode); // the gateway's own exit code, passed on by the shell
        }
        finally
        {
            if (!parent.HasExited)
            {
                parent.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose() => _scratch.Dispose();

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
