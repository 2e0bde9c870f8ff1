using System.Diagnostics;
using System.Globalization;

namespace Anon.Lab.Testbed;

/// <summary>
/// One emulated Raspberry Pi 3 Model B (<c>qemu-system-aarch64 -M raspi3b</c>, software emulation):
/// its own SD card (a copy of the image, with the packages under test in /root/packages), the console
/// on its second UART (logged to a file; a shell for the user), the control line on its first, and
/// its network interfaces: USB Ethernet adapters, as the SoC has no other.
/// <para>
/// A reboot of the Pi is a new QEMU: QEMU runs with <c>-no-reboot</c>, so the guest's restart (after
/// its clean shutdown: systemd, the kernel's unmount, the SoC's watchdog) ends it, and this starts
/// the next on the same SD card, as a power cycle. A power-off ("reboot: Power down" on the console)
/// stays off.
/// </para>
/// <para>
/// Now and then the emulated USB controller does not enumerate the Pi's adapters at boot (the kernel
/// says "dwc2 … Not connected", the Pi has no network): a flaw of the emulation, not of what runs on
/// it. A boot without them is rebooted, at most <see cref="MaximumAdapterReboots"/> times, and
/// counted in <see cref="AdapterReboots"/>, which the system test reports.
/// </para>
/// </summary>
internal sealed class EmulatedPi : IAsyncDisposable
{
    private readonly ProcessStartInfo _start;
    private readonly StreamWriter _transcript;
    private readonly string _pidFile;
    private readonly string _sdCard;
    private readonly IReadOnlyList<string> _adapters;
    private readonly TaskCompletionSource<string> _down = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private Process _qemu;
    private Task<string> _qemuErrors;
    private Task _supervising = Task.CompletedTask;
    private bool _stopping;

    /// <summary>How many times in a row a boot without the USB network adapters is rebooted before the Pi counts as not coming up.</summary>
    public const int MaximumAdapterReboots = 3;

    private EmulatedPi(PiHardware hardware, ProcessStartInfo start, Process qemu, ControlLine control, StreamWriter transcript, string consoleSocket, string consoleLog, string pidFile, string sdCard)
    {
        Name = hardware.Name;
        _adapters = hardware.Adapters;
        _start = start;
        _qemu = qemu;
        _qemuErrors = ReadOutput(qemu);
        Control = control;
        _transcript = transcript;
        ConsoleSocket = consoleSocket;
        ConsoleLog = consoleLog;
        _pidFile = pidFile;
        _sdCard = sdCard;
    }

    /// <summary>The Pi's host name, such as gateway-pi.</summary>
    public string Name { get; }

    public ControlLine Control { get; }

    /// <summary>The Unix socket of the console: a root shell (<c>socat -,rawer UNIX-CONNECT:PATH</c>).</summary>
    public string ConsoleSocket { get; }

    /// <summary>Everything the console printed, the kernel's messages included, over every boot.</summary>
    public string ConsoleLog { get; }

    /// <summary>How many times the Pi has rebooted (a new QEMU each time).</summary>
    public int Reboots { get; private set; }

    /// <summary>How many boots came up without the USB network adapters and were rebooted for it.</summary>
    public int AdapterReboots { get; private set; }

    /// <summary>
    /// Writes the Pi's SD card (the image's root file system with <paramref name="packages"/> in
    /// /root/packages) and starts it; the boot goes on after this returns (<see cref="WaitForBootAsync"/>).
    /// </summary>
    /// <param name="runFolder">Where the SD card and the logs go.</param>
    /// <param name="socketFolder">Where the UARTs' sockets go (a short path: a socket's is at most 107 bytes).</param>
    public static async Task<EmulatedPi> StartAsync(
        PiHardware hardware, PiImage image, IReadOnlyList<string> packages, string runFolder, string socketFolder, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(hardware);
        ArgumentNullException.ThrowIfNull(image);
        string sdCard = Path.Combine(runFolder, $"{hardware.Name}-sd.img");
        await WriteSdCardAsync(image.RootFileSystem, packages, sdCard, cancel).ConfigureAwait(false);

        string control = Path.Combine(socketFolder, $"{hardware.Role}-control.sock");
        string console = Path.Combine(socketFolder, $"{hardware.Role}-console.sock");
        string consoleLog = Path.Combine(runFolder, $"{hardware.Role}-console.log");
        File.Delete(consoleLog);
        var start = new ProcessStartInfo("qemu-system-aarch64") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in (string[])[
            "-M", "raspi3b",
            "-kernel", image.Kernel, "-dtb", image.DeviceTree, "-initrd", image.Initramfs,
            "-append", $"console=ttyS1,115200 root=/dev/mmcblk0 rw rootwait systemd.hostname={hardware.Name}",
            "-drive", $"if=sd,format=raw,file={sdCard}",
            "-chardev", $"socket,id=control,path={control},server=on,wait=off", "-serial", "chardev:control",
            "-chardev", $"socket,id=console,path={console},server=on,wait=off,logfile={consoleLog},logappend=on", "-serial", "chardev:console",
            "-display", "none", "-monitor", "none", "-no-reboot",
            .. hardware.NetworkArguments])
        {
            start.ArgumentList.Add(argument);
        }

        Process qemu = Launch(start);
        // For whoever must stop it if this process cannot (tests/system/run.sh, 'testbed down').
        string pidFile = Path.Combine(runFolder, $"{hardware.Role}-qemu.pid");
        await File.WriteAllTextAsync(pidFile, qemu.Id.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
        var transcript = new StreamWriter(Path.Combine(runFolder, $"{hardware.Role}-control.log"), append: false);
        ControlLine line;
        try
        {
            line = await ControlLine.ConnectAsync(control, transcript, TimeSpan.FromSeconds(20), cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string why = qemu.HasExited ? (await qemu.StandardError.ReadToEndAsync(cancel).ConfigureAwait(false)).Trim() : "its control socket did not appear";
            Stop(qemu);
            await transcript.DisposeAsync().ConfigureAwait(false);
            File.Delete(pidFile);
            throw new TestbedException($"QEMU did not start the {hardware.Name}: {why}");
        }

        var pi = new EmulatedPi(hardware, start, qemu, line, transcript, console, consoleLog, pidFile, sdCard);
        pi._supervising = Task.Run(pi.SuperviseAsync, CancellationToken.None);
        return pi;
    }

    /// <summary>
    /// Waits until the Pi has booted (again, when <paramref name="previousBootId"/> is given), its
    /// agent answers and its USB network adapters are there; a boot without them is rebooted.
    /// </summary>
    /// <exception cref="TestbedException">The Pi went down for good (QEMU failed, or the Pi powered off), no boot within <paramref name="timeout"/>, or none with the adapters.</exception>
    public async Task<string> WaitForBootAsync(string? previousBootId, TimeSpan timeout, CancellationToken cancel)
    {
        string bootId = await WaitForAgentAsync(previousBootId, timeout, cancel).ConfigureAwait(false);
        for (int reboots = 0; ; reboots++)
        {
            string missing = await MissingAdaptersAsync(cancel).ConfigureAwait(false);
            if (missing.Length == 0)
            {
                return bootId;
            }

            if (reboots == MaximumAdapterReboots)
            {
                throw new TestbedException(
                    $"the {Name} came up {reboots + 1} times in a row without its USB network adapters ({missing}; its console: {ConsoleLog})");
            }

            AdapterReboots++;
            Control.Record($"# no USB network adapter {missing} in this boot (the emulated USB controller did not enumerate it): rebooting");
            await RunAsync("systemctl reboot --no-block", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
            bootId = await WaitForAgentAsync(bootId, timeout, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>The adapters this boot lacks a minute after its agent answered, by interface name; empty when all are there.</summary>
    private async Task<string> MissingAdaptersAsync(CancellationToken cancel)
    {
        string names = string.Join(' ', _adapters);
        GuestResult result = await RunAsync(
            $"for i in $(seq 60); do missing=; for n in {names}; do [ -e /sys/class/net/$n ] || missing=\"$missing $n\"; done; [ -z \"$missing\" ] && exit 0; sleep 1; done; echo $missing; exit 1",
            TimeSpan.FromSeconds(90),
            cancel).ConfigureAwait(false);
        return result.Succeeded ? "" : result.Output.Trim();
    }

    private async Task<string> WaitForAgentAsync(string? previousBootId, TimeSpan timeout, CancellationToken cancel)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(timeout);
        Task<string> booted = Control.WaitForBootAsync(previousBootId, deadline.Token);
        try
        {
            if (await Task.WhenAny(booted, _down.Task.WaitAsync(deadline.Token)).ConfigureAwait(false) == booted)
            {
                return await booted.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TestbedException(
                $"the {Name} did not come up within {timeout.TotalSeconds:0} s (its console: {ConsoleLog}; last line: {LastConsoleLine()})");
        }

        throw new TestbedException(await _down.Task.ConfigureAwait(false));
    }

    /// <summary>Runs a bash script as root in the Pi; see <see cref="ControlLine.RunAsync"/>.</summary>
    public Task<GuestResult> RunAsync(string script, TimeSpan limit, CancellationToken cancel) => Control.RunAsync(script, limit, cancel);

    /// <summary>Reboots the Pi the way its user would (<c>systemctl reboot</c>) and waits for it to be back.</summary>
    public async Task RebootAsync(TimeSpan timeout, CancellationToken cancel)
    {
        string before = Control.BootId ?? throw new InvalidOperationException($"the {Name} has not booted");
        GuestResult result = await RunAsync("systemctl reboot --no-block", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new TestbedException($"systemctl reboot failed on the {Name}: {result.Output.Trim()}");
        }

        await WaitForBootAsync(before, timeout, cancel).ConfigureAwait(false);
    }

    /// <summary>Powers the Pi off (QEMU ended) and deletes its SD card; its logs stay.</summary>
    public async ValueTask DisposeAsync()
    {
        Process qemu;
        lock (_gate)
        {
            _stopping = true;
            qemu = _qemu;
        }

        Stop(qemu);
        await _supervising.ConfigureAwait(false);
        await Control.DisposeAsync().ConfigureAwait(false);
        await _transcript.DisposeAsync().ConfigureAwait(false);
        qemu.Dispose();
        File.Delete(_pidFile);
        File.Delete(_sdCard);
    }

    /// <summary>
    /// Starts the next QEMU whenever one ends at the guest's restart (exit 0: <c>-no-reboot</c>);
    /// anything else (an error, a power-off) leaves the Pi down and says why.
    /// </summary>
    private async Task SuperviseAsync()
    {
        while (true)
        {
            Process qemu;
            lock (_gate)
            {
                qemu = _qemu;
            }

            await qemu.WaitForExitAsync().ConfigureAwait(false);
            string errors = (await _qemuErrors.ConfigureAwait(false)).Trim();
            lock (_gate)
            {
                if (_stopping)
                {
                    return;
                }
            }

            if (qemu.ExitCode != 0)
            {
                _down.TrySetResult($"QEMU of the {Name} exited with {qemu.ExitCode}: {errors}");
                return;
            }

            if (LastConsoleLine().Contains("reboot: Power down", StringComparison.Ordinal))
            {
                _down.TrySetResult($"the {Name} powered off");
                return;
            }

            Process next;
            try
            {
                next = Launch(_start);
            }
            catch (TestbedException e)
            {
                _down.TrySetResult(e.Message);
                return;
            }

            lock (_gate)
            {
                if (_stopping)
                {
                    Stop(next);
                    next.Dispose();
                    return;
                }

                _qemu = next;
                _qemuErrors = ReadOutput(next);
                Reboots++;
            }

            qemu.Dispose();
            await File.WriteAllTextAsync(_pidFile, next.Id.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }
    }

    private static Process Launch(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start) ?? throw new TestbedException("cannot start qemu-system-aarch64");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new TestbedException("qemu-system-aarch64 is not installed: sudo apt install qemu-system-arm (tests/system/run.sh installs it)");
        }
    }

    /// <summary>Reads what QEMU says, so that its pipes never fill; returns its standard error.</summary>
    private static Task<string> ReadOutput(Process qemu)
    {
        _ = qemu.StandardOutput.ReadToEndAsync();
        return qemu.StandardError.ReadToEndAsync();
    }

    /// <summary>Ends a QEMU: SIGTERM (it exits at once: the Pi loses power), SIGKILL if it lingers.</summary>
    private static void Stop(Process qemu)
    {
        if (qemu.HasExited)
        {
            return;
        }

        Programs.Terminate(qemu);
        if (!qemu.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            qemu.Kill();
            qemu.WaitForExit();
        }
    }

    private string LastConsoleLine()
    {
        try
        {
            using var stream = new FileStream(ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            string[] lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "none" : $"\"{lines[^1]}\"";
        }
        catch (IOException)
        {
            return "none";
        }
    }

    /// <summary>
    /// A sparse copy of the image, and the packages written into its /root/packages with debugfs
    /// (e2fsprogs): as if the card had been flashed and the packages copied to it on a PC.
    /// </summary>
    private static async Task WriteSdCardAsync(string rootFileSystem, IReadOnlyList<string> packages, string sdCard, CancellationToken cancel)
    {
        await RunToolAsync("cp", ["--sparse=always", rootFileSystem, sdCard], cancel).ConfigureAwait(false);
        var commands = new List<string> { "mkdir /root/packages", "cd /root/packages" };
        commands.AddRange(packages.Select(package => $"write {package} {Path.GetFileName(package)}"));
        string script = sdCard + ".debugfs";
        await File.WriteAllLinesAsync(script, commands, cancel).ConfigureAwait(false);
        await RunToolAsync("debugfs", ["-w", "-f", script, sdCard], cancel).ConfigureAwait(false);
        File.Delete(script);
    }

    private static async Task RunToolAsync(string tool, string[] arguments, CancellationToken cancel)
    {
        ProcessResult result = await Programs.RunAsync(tool, arguments, TimeSpan.FromMinutes(2)).WaitAsync(cancel).ConfigureAwait(false);
        // debugfs reports a failed command on stderr but exits 0: any "write" it could not do says so.
        if (result.ExitCode != 0 || result.Error.Contains("Could not", StringComparison.Ordinal) || result.Error.Contains("error", StringComparison.OrdinalIgnoreCase))
        {
            throw new TestbedException(string.Create(
                CultureInfo.InvariantCulture, $"{tool} {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.Error.Trim()}"));
        }
    }
}

/// <summary>
/// One Pi's identity: its host name (given on the kernel's command line) and its USB network
/// adapters, whose MAC addresses the image's .network files (tools/testbed/guest) match.
/// </summary>
/// <param name="Role">gateway or device: the artifacts' names (gateway-console.log).</param>
/// <param name="Adapters">The adapters' interface names in the guest: "enx" and the MAC address, as udev names them.</param>
internal sealed record PiHardware(string Name, string Role, IReadOnlyList<string> NetworkArguments, IReadOnlyList<string> Adapters)
{
    /// <summary>
    /// The gateway Pi: a link to the web (QEMU's user-mode networking, where the host's loopback is
    /// 10.0.2.2) and one to the device network, 192.168.2.1/24, a QEMU datagram link over 127.0.0.1.
    /// </summary>
    public static PiHardware Gateway(DeviceNetwork network) => new("gateway-pi", "gateway",
    [
        "-netdev", "user,id=web,net=10.0.2.0/24", "-device", $"usb-net,netdev=web,mac={GatewayWebMac}",
        "-netdev", network.GatewayEnd, "-device", $"usb-net,netdev=devices,mac={GatewayDevicesMac}",
    ],
    [InterfaceName(GatewayWebMac), InterfaceName(GatewayDevicesMac)]);

    /// <summary>The device Pi: the device network only, 192.168.2.2/24.</summary>
    public static PiHardware Device(DeviceNetwork network) => new("device-pi", "device",
    [
        "-netdev", network.DeviceEnd, "-device", $"usb-net,netdev=devices,mac={DeviceMac}",
    ],
    [InterfaceName(DeviceMac)]);

    // The MAC addresses tools/testbed/guest/etc/systemd/network/*.network match.
    private const string GatewayWebMac = "52:54:00:a0:00:01";
    private const string GatewayDevicesMac = "52:54:00:a0:00:02";
    private const string DeviceMac = "52:54:00:a0:00:03";

    private static string InterfaceName(string mac) => "enx" + mac.Replace(":", "", StringComparison.Ordinal);
}

/// <summary>The device network: one cable between the two Pis, a UDP port on 127.0.0.1 at each end.</summary>
internal sealed record DeviceNetwork(int GatewayPort, int DevicePort)
{
    public const string WebHostAddress = "10.0.2.2";
    public const string GatewayAddress = "192.168.2.1";
    public const string DeviceAddress = "192.168.2.2";

    /// <summary>Two UDP ports of 127.0.0.1 that are free now.</summary>
    public static DeviceNetwork OnFreePorts()
    {
        using var first = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        using var second = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return new DeviceNetwork(((System.Net.IPEndPoint)first.Client.LocalEndPoint!).Port, ((System.Net.IPEndPoint)second.Client.LocalEndPoint!).Port);
    }

    /// <summary>QEMU's -netdev of the gateway Pi's end of the cable.</summary>
    public string GatewayEnd => End(GatewayPort, DevicePort);

    /// <summary>QEMU's -netdev of the device Pi's end.</summary>
    public string DeviceEnd => End(DevicePort, GatewayPort);

    private static string End(int local, int remote) => string.Create(
        CultureInfo.InvariantCulture,
        $"dgram,id=devices,local.type=inet,local.host=127.0.0.1,local.port={local},remote.type=inet,remote.host=127.0.0.1,remote.port={remote}");
}
