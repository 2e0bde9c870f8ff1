using System.Globalization;
using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>A local web server shared by a test class, serving the fixtures and whatever a test adds.</summary>
public sealed class WebFixture : IAsyncLifetime
{
    public PageServer Server { get; private set; } = null!;

    public Uri LightOn => new(Server.BaseAddress, "LIGHTON_COMMAND");

    public Uri LightOff => new(Server.BaseAddress, "LIGHTOFF_COMMAND");

    public async Task InitializeAsync()
    {
        Server = await PageServer.StartAsync();
        Server.ServeDirectory(Programs.FixturesDirectory);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>A directory of its own for each test's logs and files.</summary>
public sealed class Scratch : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("anon-e2e-").FullName;

    public string PathOf(string name) => System.IO.Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

internal static partial class Expect
{
    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms and fails the test, naming what was awaited,
    /// when it has not held within <paramref name="limit"/>: for what a program does on its own time.
    /// </summary>
    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan limit, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < limit, $"not within {limit.TotalSeconds:0.#} s: {what}");
            await Task.Delay(50);
        }
    }

    public static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(Programs.FixturesDirectory, name));

    /// <summary>A minisign signature of LIGHTON_COMMAND (minisign 0.11; the vector of MinisignTests), to serve as LIGHTON_COMMAND.minisig.</summary>
    public static byte[] LightOnSignature { get; } = System.Text.Encoding.UTF8.GetBytes("""
        untrusted comment: signature from minisign secret key
        RUQIeRzawpuenr/EZUMyKH8Y9gwXW0aNmEOtgswBa5Wq4gGS4GOXbMjoBab1xesBWv2f0BryJY54dhNqP9M7GCvANejc/SHYVQU=
        trusted comment: timestamp:1796132260	file:page	hashed
        bplKa1BzBtTazQHuNvhdSqULSHXgj2KLrDpdoWbSzKKgGh9E9qyYm2X/xdsEjbX99qteSSrFJ2p8bdcvSNtKDA==

        """);

    /// <summary>The public key (minisign.pub's base64 line) that made <see cref="LightOnSignature"/>.</summary>
    public const string LightOnSignatureKey = "RWQIeRzawpuenql49Q3tgjEmAEuj2e6Q7yhqasZFJajbgrQdacUOBRpp";

    /// <summary>A key that signed nothing served here.</summary>
    public const string UnrelatedKey = "RWQBRDmYWunR324dNhao8rflTazYuMKvwS5m1sz13/OH85YJDbeU2ESF";

    public static string[] ClientArguments(int port, string log, string file, params string[] more) =>
        ["-s", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-l", log, "-f", file, .. more];

    /// <summary>Every line of a log is a packet line in the spec's exact format or a timestamped event.</summary>
    public static void WellFormedLog(string path)
    {
        foreach (string line in File.ReadAllLines(path))
        {
            Assert.True(PacketLine().IsMatch(line) || EventLine().IsMatch(line), $"malformed log line in {path}: '{line}'");
        }
    }

    public static string[] PacketLines(string path) =>
        File.ReadAllLines(path).Where(line => line.StartsWith("RECV", StringComparison.Ordinal) || line.StartsWith("SEND", StringComparison.Ordinal)).ToArray();

    /// <summary>A UDP port free on this machine a moment ago, for a gateway that must keep its port across a restart.</summary>
    public static int FreeUdpPort()
    {
        using var socket = new System.Net.Sockets.Socket(
            System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp) { DualMode = true };
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Any, 0));
        return ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A TCP port free on this machine a moment ago.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A client of our own that handshakes, takes the first segment and then falls silent, holding its connection open.</summary>
    public static System.Net.Sockets.Socket StallAfterFirstSegment(System.Net.IPEndPoint gateway)
    {
        var socket = new System.Net.Sockets.Socket(
            System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp) { ReceiveTimeout = 5000 };
        socket.Connect(gateway);
        byte[] packet = new byte[Anon.Protocol.Segments.MaxDatagram];
        uint isn = (uint)Random.Shared.Next();
        new Anon.Protocol.SegmentHeader(new(isn), default, Anon.Protocol.SegmentFlags.Syn).WriteTo(packet);
        socket.Send(packet.AsSpan(0, 12));
        socket.Receive(packet);
        Assert.True(Anon.Protocol.SegmentHeader.TryRead(packet, out var synAck));
        new Anon.Protocol.SegmentHeader(new(isn + 1), synAck.Sequence + 1, Anon.Protocol.SegmentFlags.Ack).WriteTo(packet);
        socket.Send(packet.AsSpan(0, 12));
        int length = socket.Receive(packet);
        Assert.Equal(Anon.Protocol.Segments.MaxDatagram, length);
        return socket;
    }

    public static void NoStackTrace(ProcessResult result) =>
        Assert.DoesNotContain("   at ", result.Error + result.Output, StringComparison.Ordinal);

    [GeneratedRegex(@"^(RECV|SEND) \d+ \d+( ACK)?( SYN)?( FIN)?$")]
    private static partial Regex PacketLine();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S")]
    private static partial Regex EventLine();
}

/// <summary>Paths in the repository and the Debian tools that some tests drive.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// The full path of an installed program; a test that needs one fails, never skips, when it is
    /// missing, since `bash tests/run.sh` (the README's test command) installs it.
    /// </summary>
    public static string Tool(string name, string debianPackage)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/sbin"))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} is not installed: run the tests with `bash tests/run.sh`, which installs the Debian package {debianPackage}");
    }

    private static string FindRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Anon.slnx")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new DirectoryNotFoundException("the repository root (Anon.slnx) is not above the test's folder");
    }
}
