using System.Net;
using System.Net.Sockets;
using System.Text;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>Each failure is one clear line on stderr and its documented exit code; never a stack trace.</summary>
public sealed class ErrorTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    // The documented numbers themselves (README "Exit codes"), not ExitCodes' constants: a renumbering must fail here.
    private const int Usage = 64;
    private const int UnknownCommand = 65;
    private const int UnknownHost = 68;
    private const int Unavailable = 69;
    private const int GpioError = 71;
    private const int CannotCreate = 73;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly Scratch _scratch = new();

    [Theory]
    [InlineData("abc", "'abc' is not a port number")]
    [InlineData("70000", "'70000' is not a port number")]
    [InlineData("-1", "is not a port number")]
    public async Task The_gateway_rejects_a_bad_port(string port, string message)
    {
        ProcessResult result = await Gateway("-p", port, "-l", _scratch.PathOf("g.log"), "-w", web.LightOn.ToString());

        AssertFailure(result, Usage, message);
    }

    [Fact]
    public async Task The_gateway_requires_its_options()
    {
        AssertFailure(await Gateway("-p", "30000", "-l", _scratch.PathOf("g.log")), Usage, "Option '--url' is required");
    }

    [Fact]
    public async Task The_gateway_rejects_what_is_not_an_http_url()
    {
        AssertFailure(await Gateway("-p", "0", "-l", _scratch.PathOf("g.log"), "-w", "ftp://example/x"), Usage, "is not an http:// or https:// URL");
    }

    [Fact]
    public async Task The_gateway_reports_an_unreachable_web_server()
    {
        int closedPort = Expect.FreeTcpPort();
        ProcessResult result = await Gateway("-p", "0", "-l", _scratch.PathOf("g.log"), "-w", $"http://127.0.0.1:{closedPort}/page");

        AssertFailure(result, Unavailable, $"cannot download http://127.0.0.1:{closedPort}/page");
        Assert.Contains("error: cannot download", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_reports_an_http_error_status()
    {
        ProcessResult result = await Gateway("-p", "0", "-l", _scratch.PathOf("g.log"), "-w", new Uri(web.Server.BaseAddress, "missing").ToString());

        AssertFailure(result, Unavailable, "the server answered HTTP 404 Not Found");
    }

    [Fact]
    public async Task The_gateway_reports_a_port_in_use()
    {
        using var taken = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        taken.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        string port = ((IPEndPoint)taken.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        ProcessResult result = await Gateway("-p", port, "-l", _scratch.PathOf("g.log"), "-w", web.LightOn.ToString());

        AssertFailure(result, Unavailable, $"UDP port {port} is already in use");
    }

    [Fact]
    public async Task The_gateway_reports_an_unwritable_log()
    {
        ProcessResult result = await Gateway("-p", "0", "-l", "/nonexistent-dir/g.log", "-w", web.LightOn.ToString());

        AssertFailure(result, CannotCreate, "cannot write the log file '/nonexistent-dir/g.log': the folder '/nonexistent-dir' does not exist");
    }

    [Fact]
    public async Task The_client_names_the_missing_folder_of_its_log()
    {
        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(30000, _scratch.PathOf("no-such-folder/c.log"), _scratch.PathOf("out")), Timeout);

        AssertFailure(result, CannotCreate, $"cannot write the log file '{_scratch.PathOf("no-such-folder/c.log")}': the folder '{_scratch.PathOf("no-such-folder")}' does not exist");
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("port")]
    public async Task The_client_rejects_a_bad_port(string port)
    {
        ProcessResult result = await Programs.RunClientAsync(["-s", "127.0.0.1", "-p", port, "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("out")], Timeout);

        AssertFailure(result, Usage, "is not a port number");
    }

    [Fact]
    public async Task The_client_requires_its_options()
    {
        ProcessResult result = await Programs.RunClientAsync(["-s", "127.0.0.1", "-p", "30000", "-l", _scratch.PathOf("c.log")], Timeout);

        AssertFailure(result, Usage, "Option '--file' is required");
    }

    [Fact]
    public async Task The_client_reports_an_unwritable_output_before_it_sends_anything()
    {
        using Socket silent = SilentGateway(out int port);
        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), "/nonexistent-dir/out.txt"), Timeout);

        AssertFailure(result, CannotCreate, "cannot write the output file '/nonexistent-dir/out.txt'");
        Assert.Empty(Expect.PacketLines(_scratch.PathOf("c.log")));
    }

    [Fact]
    public async Task The_client_gives_up_on_a_silent_gateway_and_leaves_no_file()
    {
        using Socket silent = SilentGateway(out int port);
        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "1"), Timeout);

        AssertFailure(result, Unavailable, "no answer from the gateway within 1 s");
        Assert.Equal(["c.log"], Directory.EnumerateFiles(_scratch.Directory).Select(Path.GetFileName));
        Assert.True(Expect.PacketLines(_scratch.PathOf("c.log")).Length > 1, "the SYN was not retransmitted");
    }

    [Fact]
    public async Task Against_a_port_nothing_listens_on_the_client_says_it_retries_then_gives_up_at_its_timeout()
    {
        int port = Expect.FreeUdpPort();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "2"), Timeout);

        AssertFailure(result, Unavailable, "no answer from the gateway within 2 s");
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(
            $"anonclient: 127.0.0.1:{port}: the gateway's host answered that nothing listens on that port (yet); retrying until nothing has come for 2 s (--timeout; --fail-on-refusal gives up at once)",
            lines[0]);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"gave up after {clock.Elapsed}, before its timeout");
    }

    [Fact]
    public async Task With_fail_on_refusal_the_client_gives_up_at_the_first_port_unreachable()
    {
        int port = Expect.FreeUdpPort();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "30", "--fail-on-refusal"), Timeout);

        AssertFailure(result, Unavailable, $"gateway 127.0.0.1:{port}: the gateway's host answered that nothing listens on that port (--fail-on-refusal)");
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}: it waited for its timeout");
        Assert.Equal(["c.log"], Directory.EnumerateFiles(_scratch.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Without_a_route_to_the_gateway_the_client_says_so_and_retries_until_its_timeout()
    {
        // As on a device whose network is not up yet: connect(2) itself fails (ENETUNREACH).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult result = await Programs.RunAsync("unshare", [.. CutOffFromEveryNetwork, Programs.ClientPath,
            "-s", "192.0.2.1", "-p", "30000", "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("out.txt"), "--timeout", "2"], Timeout);

        AssertFailure(result, Unavailable, "gateway 192.0.2.1:30000: no answer from the gateway within 2 s (last network error: NetworkUnreachable)");
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(
            "anonclient: 192.0.2.1:30000: there is no route to the gateway's address (yet); retrying until nothing has come for 2 s (--timeout; --fail-on-refusal gives up at once)",
            lines[0]);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"gave up after {clock.Elapsed}, before its timeout");
        Assert.Equal(["c.log"], Directory.EnumerateFiles(_scratch.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_client_reports_a_page_without_a_command_after_writing_it()
    {
        Uri url = web.Server.Serve("hello", Encoding.ASCII.GetBytes("HELLO WORLD\nnot a command\n"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(url, _scratch.PathOf("g.log"));

        ProcessResult result = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")), Timeout);

        AssertFailure(result, UnknownCommand, "cannot parse the command: the first line is \"HELLO WORLD\"; a command page's first line is COMMAND=LIGHTON or COMMAND=LIGHTOFF");
        Assert.Equal("HELLO WORLD\nnot a command\n", File.ReadAllText(_scratch.PathOf("out.txt")));
        Assert.Contains("error: cannot parse the command", File.ReadAllText(_scratch.PathOf("c.log")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_gpio_error_has_its_own_exit_code_and_the_page_is_still_written()
    {
        Skip.If(File.Exists("/dev/gpiochip0"), "a machine with real GPIO: pin 17 may well work here");

        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));

        ProcessResult result = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--gpio-pin", "17", "--led-state", _scratch.PathOf("led")), Timeout);

        // tests/run.sh installs libgpiod, so the real driver runs and finds no chip; without it, the package is named.
        AssertFailure(result, GpioError, LibgpiodInstalled
            ? "cannot drive the LED on GPIO pin 17: Unable to find a chip, error: 2 (No such file or directory): there is no /dev/gpiochip*: " +
              "this machine has no GPIO chip or its driver is not loaded (ls /dev/gpiochip*); leave --gpio-pin out to use the simulated LED"
            : "cannot drive the LED on GPIO pin 17: libgpiod is not installed");
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.Contains("GPIO", StringComparison.Ordinal));
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.False(File.Exists(_scratch.PathOf("led")), "the state file claims a state the LED never took");
    }

    /// <summary>
    /// A device whose GPIO chip exists but is not open to the user the client runs as (the group
    /// missing, as on a first install before logging in again): the line says which group to join.
    /// The client runs as nobody in a mount namespace whose /dev holds a chip only root may open.
    /// </summary>
    [SkippableFact]
    public async Task A_gpio_chip_the_user_may_not_open_says_which_group_to_join()
    {
        Skip.IfNot(Environment.UserName == "root", "a mount namespace and a change of user need root (CI runs as root)");
        Skip.IfNot(LibgpiodInstalled, "libgpiod is not installed: tests/run.sh installs it");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));
        string work = _scratch.PathOf("nobody");
        string[] command = [Programs.ClientPath, .. Expect.ClientArguments(gateway.Port, Path.Combine(work, "c.log"), Path.Combine(work, "out.txt"), "--gpio-pin", "17")];
        string client = string.Join(' ', command.Select(Quote));
        string script =
            $"set -e; chmod 711 {Quote(_scratch.Directory)}; mkdir -m 777 {Quote(work)}; " + // nobody passes through to a folder of its own
            "mount -t tmpfs -o mode=755 tmpfs /dev; " +
            "mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/random c 1 8; " +
            ": > /dev/gpiochip0; chmod 600 /dev/gpiochip0; " +
            $"exec setpriv --reuid=65534 --regid=65534 --clear-groups {client}";

        ProcessResult result = await Programs.RunAsync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], Timeout);

        AssertFailure(result, GpioError, "no permission to open /dev/gpiochip0: run the client as a member of its group " +
            "(gpio on Raspberry Pi OS, and with the anon-client package's udev rule: sudo usermod -aG gpio USER, then log in again)");
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(Path.Combine(work, "out.txt")));
    }

    private static bool LibgpiodInstalled =>
        new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu" }
            .Any(folder => File.Exists(Path.Combine(folder, "libgpiod.so.2")) || File.Exists(Path.Combine(folder, "libgpiod.so.3")));

    private static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Fact]
    public async Task The_led_state_file_follows_the_command()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOff, _scratch.PathOf("g.log"));

        ProcessResult result = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--led-state", _scratch.PathOf("led")), Timeout);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("OFF\n", File.ReadAllText(_scratch.PathOf("led")));
    }

    [Fact]
    public async Task The_client_reports_a_name_that_does_not_resolve()
    {
        ProcessResult result = await Programs.RunClientAsync(
            ["-s", "no-such-gateway.invalid", "-p", "30000", "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("out.txt")], Timeout);

        AssertFailure(result, UnknownHost, "cannot resolve the gateway's name 'no-such-gateway.invalid'");
        Assert.Equal(["c.log"], Directory.EnumerateFiles(_scratch.Directory).Select(Path.GetFileName)); // no temporary file left
    }

    public void Dispose() => _scratch.Dispose();

    private static Task<ProcessResult> Gateway(params string[] arguments) => Programs.RunAsync(Programs.GatewayPath, arguments, Timeout);

    /// <summary>unshare(1)'s options for a network namespace of its own, whose only interface (loopback) is down: no route to anywhere.</summary>
    internal static readonly string[] CutOffFromEveryNetwork = ["--user", "--map-root-user", "--net"];

    private static void AssertFailure(ProcessResult result, int exitCode, string message)
    {
        Assert.True(exitCode == result.ExitCode, $"exit code {result.ExitCode}, expected {exitCode}; stderr: {result.Error}");
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Expect.NoStackTrace(result);
    }

    /// <summary>A UDP socket on 127.0.0.1 that receives and never answers.</summary>
    private static Socket SilentGateway(out int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }
}
