using System.Globalization;
using Anon.Commands;

namespace Anon.Lab.Testbed;

/// <summary>Where a testbed keeps its files, the folder of the packages it installs, where the Pi image is cached, and how long a Pi may take to boot.</summary>
internal sealed record TestbedSettings(string RunFolder, string PackageFolder, string? CacheFolder, TimeSpan BootTimeout)
{
    public static readonly TimeSpan DefaultBootTimeout = TimeSpan.FromMinutes(7);
}

/// <summary>
/// The whole system as users run it, emulated: a web server on this machine's loopback with the
/// command page; a gateway Pi that reaches it and the device network; a device Pi on the device
/// network only, its LED on GPIO 17. The project's arm64 packages are installed on them as the
/// README says (<see cref="InstallAsync"/>).
/// </summary>
internal sealed class Testbed : IAsyncDisposable
{
    /// <summary>The page's name on the web server.</summary>
    public const string PageName = "COMMAND";

    /// <summary>The LED's pin, BCM numbering: line 17 of gpiochip0, the SoC's own GPIO controller.</summary>
    public const int LedPin = 17;

    /// <summary>The settings README "Try it without a Pi" gives for a light that follows the page within seconds (docs/PERFORMANCE.md).</summary>
    public const string GatewayOptions = "--refresh 1 --bind 192.168.2.1 --allow 192.168.2.0/24";

    public const int WatchSeconds = 1;

    /// <summary>The page's UDP port on the device network: ANON_PORT of both settings files, as packaged.</summary>
    public const int PagePort = 30000;

    /// <summary>The gateway's port for the page's signature under <c>--page-key</c> (README "On the device too").</summary>
    public const int SignaturePort = 30001;

    private readonly string _socketFolder;
    private readonly int _webPort;

    /// <summary>The names the web server serves, each from the file of that name in the folder of <see cref="PageFile"/>.</summary>
    private readonly List<string> _served = [PageName];

    private Testbed(TestbedSettings settings, string socketFolder, string pageFile, PageServer web, EmulatedPi gateway, EmulatedPi device)
    {
        Settings = settings;
        _socketFolder = socketFolder;
        PageFile = pageFile;
        Web = web;
        _webPort = web.BaseAddress.Port;
        Gateway = gateway;
        Device = device;
    }

    public TestbedSettings Settings { get; }

    /// <summary>The file the web server serves as the page, read at each request.</summary>
    public string PageFile { get; }

    public PageServer? Web { get; private set; }

    public EmulatedPi Gateway { get; }

    public EmulatedPi Device { get; }

    /// <summary>The page's address on this machine.</summary>
    public Uri PageOnHost => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_webPort}/{PageName}"));

    /// <summary>The page's address as the gateway Pi sees it (QEMU's user-mode networking: the host is 10.0.2.2).</summary>
    public Uri PageOnGatewayPi => new(string.Create(CultureInfo.InvariantCulture, $"http://{DeviceNetwork.WebHostAddress}:{_webPort}/{PageName}"));

    /// <summary>
    /// Builds (or finds) the image, serves a LIGHTON page, writes both SD cards with the arm64
    /// packages of <paramref name="packageFolder"/> and boots both Pis, to their control lines' first answer.
    /// </summary>
    /// <exception cref="TestbedException">Something it needs is missing, or a Pi does not come up.</exception>
    public static async Task<Testbed> StartAsync(TestbedSettings settings, TextWriter progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string runFolder = settings.RunFolder;
        string[] packages = [FindPackage(settings.PackageFolder, "anon-gateway"), FindPackage(settings.PackageFolder, "anon-client")];
        Directory.CreateDirectory(runFolder);
        PiImage image = await PiImage.BuildOrFindAsync(settings.CacheFolder, progress, cancel).ConfigureAwait(false);

        string pageFile = Path.Combine(runFolder, "www", PageName);
        Directory.CreateDirectory(Path.GetDirectoryName(pageFile)!);
        WritePage(pageFile, LightCommand.LightOn);
        PageServer web = await PageServer.StartAsync().ConfigureAwait(false);
        web.ServeFile(PageName, pageFile);

        string socketFolder = Directory.CreateTempSubdirectory("anon-testbed-").FullName;
        var network = DeviceNetwork.OnFreePorts();
        progress.WriteLine("testbed: booting the gateway Pi and the device Pi (Raspberry Pi 3 Model B, emulated: a minute or two)");
        Task<EmulatedPi>[] starting =
        [
            EmulatedPi.StartAsync(PiHardware.Gateway(network), image, packages, runFolder, socketFolder, cancel),
            EmulatedPi.StartAsync(PiHardware.Device(network), image, packages, runFolder, socketFolder, cancel),
        ];
        try
        {
            EmulatedPi[] pis = await Task.WhenAll(starting).ConfigureAwait(false);
            await Task.WhenAll(pis.Select(pi => pi.WaitForBootAsync(null, settings.BootTimeout, cancel))).ConfigureAwait(false);
            return new Testbed(settings, socketFolder, pageFile, web, pis[0], pis[1]);
        }
        catch
        {
            foreach (Task<EmulatedPi> pi in starting.Where(pi => pi.IsCompletedSuccessfully))
            {
                await pi.Result.DisposeAsync().ConfigureAwait(false);
            }

            await web.DisposeAsync().ConfigureAwait(false);
            Directory.Delete(socketFolder, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// README "On a Raspberry Pi", step by step on each Pi: <c>apt install ./PACKAGE.deb</c>, the
    /// settings in /etc/anon/*.env (the page's URL; the device's LED on GPIO 17, fetched every
    /// second), <c>systemctl restart</c>.
    /// </summary>
    /// <returns>What each Pi answered, in order: gateway, device.</returns>
    public async Task<GuestResult[]> InstallAsync(CancellationToken cancel)
    {
        string gateway = $"""
            set -e
            cd /root/packages
            DEBIAN_FRONTEND=noninteractive apt install -y ./anon-gateway_*_arm64.deb
            sed -i -e 's|^ANON_URL=.*|ANON_URL={PageOnGatewayPi}|' -e 's|^ANON_GATEWAY_OPTIONS=.*|ANON_GATEWAY_OPTIONS={GatewayOptions}|' /etc/anon/gateway.env
            systemctl restart anon-gateway
            systemctl is-active anon-gateway
            """;
        string device = $"""
            set -e
            cd /root/packages
            DEBIAN_FRONTEND=noninteractive apt install -y ./anon-client_*_arm64.deb
            sed -i -e 's|^ANON_GATEWAY=.*|ANON_GATEWAY={DeviceNetwork.GatewayAddress}|' -e 's|^ANON_WATCH_SECONDS=.*|ANON_WATCH_SECONDS={WatchSeconds}|' \
                -e 's|^ANON_CLIENT_OPTIONS=.*|ANON_CLIENT_OPTIONS=--gpio-pin {LedPin} --led-state /var/lib/anon-client/led|' /etc/anon/client.env
            systemctl restart anon-client
            systemctl is-active anon-client
            """;
        return await Task.WhenAll(
            Gateway.RunAsync(gateway, TimeSpan.FromMinutes(5), cancel),
            Device.RunAsync(device, TimeSpan.FromMinutes(5), cancel)).ConfigureAwait(false);
    }

    /// <summary>Changes the page to the real page of <paramref name="command"/> (tests/fixtures), written whole then renamed.</summary>
    public void SetPage(LightCommand command) => WritePage(PageFile, command);

    /// <summary>
    /// Serves <paramref name="content"/> at /<paramref name="name"/> on the web server (the gateway Pi
    /// sees it at <see cref="OnGatewayPi"/>), from a file beside the page's, written whole then renamed.
    /// </summary>
    public void Publish(string name, byte[] content)
    {
        string path = Path.Combine(Path.GetDirectoryName(PageFile)!, name);
        File.WriteAllBytes(path + ".part", content);
        File.Move(path + ".part", path, overwrite: true);
        if (!_served.Contains(name))
        {
            _served.Add(name);
            Web?.ServeFile(name, path);
        }
    }

    /// <summary>A file of the web server as the gateway Pi sees it.</summary>
    public Uri OnGatewayPi(string name) => new(PageOnGatewayPi, name);

    /// <summary>
    /// README "On the device too", on both Pis: the publisher's key (the base64 line of its
    /// minisign.pub) in ANON_GATEWAY_PAGE_KEY and ANON_CLIENT_PAGE_KEY, the gateway serving the
    /// signature on <see cref="SignaturePort"/>; both services restarted. The page must be signed by then.
    /// </summary>
    /// <remarks>
    /// The line, not a file of the key in /etc/anon: the settings files are the packages' own, which
    /// a purge removes; a file of the user's would stay (and the purge check would find it).
    /// </remarks>
    /// <returns>What each Pi answered, in order: gateway, device.</returns>
    public async Task<GuestResult[]> UsePageKeyAsync(string publicKeyLine, CancellationToken cancel)
    {
        string gateway = $"""
            set -e
            sed -i -e 's|^ANON_GATEWAY_PAGE_KEY=.*|ANON_GATEWAY_PAGE_KEY={publicKeyLine}|' -e 's|^#*ANON_GATEWAY_SIGNATURE_PORT=.*|ANON_GATEWAY_SIGNATURE_PORT={SignaturePort}|' /etc/anon/gateway.env
            systemctl restart anon-gateway
            systemctl is-active anon-gateway
            """;
        string device = $"""
            set -e
            sed -i -e 's|^ANON_CLIENT_PAGE_KEY=.*|ANON_CLIENT_PAGE_KEY={publicKeyLine}|' /etc/anon/client.env
            systemctl restart anon-client
            systemctl is-active anon-client
            """;
        return await Task.WhenAll(
            Gateway.RunAsync(gateway, TimeSpan.FromMinutes(2), cancel),
            Device.RunAsync(device, TimeSpan.FromMinutes(2), cancel)).ConfigureAwait(false);
    }

    /// <summary>Stops the web server: the gateway Pi's requests are refused, as when the site is down.</summary>
    public async Task StopWebAsync()
    {
        if (Web is { } web)
        {
            Web = null;
            await web.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Starts the web server again on the same port, serving the same file.</summary>
    public async Task StartWebAsync()
    {
        if (Web is null)
        {
            Web = await PageServer.StartAsync(_webPort).ConfigureAwait(false);
            foreach (string name in _served)
            {
                Web.ServeFile(name, Path.Combine(Path.GetDirectoryName(PageFile)!, name));
            }
        }
    }

    /// <summary>Reboots a Pi as its user would, and waits for it, up to the boot timeout.</summary>
    public Task RebootAsync(EmulatedPi pi, CancellationToken cancel) => pi.RebootAsync(Settings.BootTimeout, cancel);

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync().ConfigureAwait(false);
        await Device.DisposeAsync().ConfigureAwait(false);
        await StopWebAsync().ConfigureAwait(false);
        Directory.Delete(_socketFolder, recursive: true);
    }

    /// <summary>The real page of <paramref name="command"/> (tests/fixtures).</summary>
    public static string FixtureOf(LightCommand command) =>
        Path.Combine(Programs.FixturesDirectory, command == LightCommand.LightOn ? "LIGHTON_COMMAND" : "LIGHTOFF_COMMAND");

    private static void WritePage(string path, LightCommand command)
    {
        string fixture = FixtureOf(command);
        string temporary = path + ".part";
        File.Copy(fixture, temporary, overwrite: true);
        File.Move(temporary, path, overwrite: true);
    }

    private static string FindPackage(string folder, string package)
    {
        string[] found = Directory.Exists(folder) ? Directory.GetFiles(folder, $"{package}_*_arm64.deb") : [];
        return found.Length switch
        {
            1 => found[0],
            0 => throw new TestbedException(
                $"no arm64 package {package} in {folder}: build them with bash deploy/debian/build.sh arm64 (or give their folder with --packages)"),
            _ => throw new TestbedException($"more than one arm64 package {package} in {folder}: keep one ({string.Join(", ", found.Select(Path.GetFileName))})"),
        };
    }
}
