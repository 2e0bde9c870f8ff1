using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Anon.Commands;

namespace Anon.Lab.Testbed;

/// <summary>
/// The system test (tests/system/run.sh): the whole system on the two emulated Pis, checked the way
/// a user meets it, one named check at a time, each cut at its own timeout. Prints a line per check
/// and the totals, and leaves in the artifacts folder both consoles, the kernel's view of the GPIO
/// lines at each LED check, both services' journals, the page-to-pin latencies and the summary.
/// </summary>
internal sealed partial class SystemCheck
{
    private readonly Testbed _bed;
    private readonly string _artifacts;
    private readonly TextWriter _output;
    private readonly IReadOnlyList<Plant> _plants;
    private readonly List<string> _summary = [];
    private readonly StringBuilder _latencies = new("change,command,page_written_utc,pin_changed_utc,latency_s,clock_offset_s\n");
    private int _gpioSnapshots;
    private string? _lost;

    private SystemCheck(Testbed bed, string artifacts, TextWriter output, IReadOnlyList<Plant> plants)
    {
        _bed = bed;
        _artifacts = artifacts;
        _output = output;
        _plants = plants;
    }

    private EmulatedPi Gateway => _bed.Gateway;

    private EmulatedPi Device => _bed.Device;

    /// <summary>Boots the testbed and runs every check; 0 when all passed.</summary>
    /// <param name="only">The checks to run, in the scenario's order (install always: the others need it); all when empty.</param>
    /// <param name="plants">Defects to plant before their checks, to see those checks catch them.</param>
    public static async Task<int> RunAsync(
        TestbedSettings settings, IReadOnlyCollection<string> only, IReadOnlyList<Plant> plants, TextWriter output, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string artifacts = settings.RunFolder;
        Directory.CreateDirectory(artifacts);
        foreach (string pattern in (string[])["*-console.log", "*-control.log", "device-gpio-*.txt", "journal-*.txt", "log-*.txt", "latency.csv", "summary.txt"])
        {
            foreach (string stale in Directory.GetFiles(artifacts, pattern))
            {
                File.Delete(stale); // a previous run's, which this one's would mix with
            }
        }

        var clock = Stopwatch.StartNew();
        Testbed bed;
        try
        {
            bed = await Testbed.StartAsync(settings, output, cancel).ConfigureAwait(false);
        }
        catch (TestbedException e)
        {
            output.WriteLine($"system test: {e.Message}");
            await File.WriteAllTextAsync(Path.Combine(artifacts, "summary.txt"), $"not run: {e.Message}\n", CancellationToken.None).ConfigureAwait(false);
            return 1;
        }

        await using (bed.ConfigureAwait(false))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"system test: both Pis up {clock.Elapsed.TotalSeconds:0} s after the start (the image built or found in the cache, both booted); the checks:"));
            var check = new SystemCheck(bed, artifacts, output, plants);
            return await check.RunChecksAsync(only, clock, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>The checks, in the order they run, each with its timeout.</summary>
    private static readonly (string Name, int Minutes, Func<SystemCheck, CancellationToken, Task<string>> Run)[] Checks =
    [
        ("install", 8, (check, cancel) => check.InstallAsync(cancel)),
        ("boot", 8, (check, cancel) => check.BootAsync(cancel)),
        ("led-follows-page", 4, (check, cancel) => check.LedFollowsPageAsync(cancel)),
        ("device-isolated", 2, (check, cancel) => check.DeviceIsolatedAsync(cancel)),
        ("gateway-restart-no-failed-fetch", 4, (check, cancel) => check.RestartsAsync(socketActivation: false, cancel)),
        ("socket-activation-restart", 5, (check, cancel) => check.RestartsAsync(socketActivation: true, cancel)),
        ("reboot-with-upstream-down", 9, (check, cancel) => check.RebootWithUpstreamDownAsync(cancel)),
        ("device-reboot", 8, (check, cancel) => check.DeviceRebootAsync(cancel)),
        ("rogue-gateway-refused", 8, (check, cancel) => check.RogueGatewayRefusedAsync(cancel)),
        ("logs-readable", 3, (check, cancel) => check.LogsReadableAsync(cancel)),
        ("purge-clean", 4, (check, cancel) => check.PurgeCleanAsync(cancel)),
    ];

    /// <summary>The checks' names, in the order they run.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Checks.Select(c => c.Name)];

    private async Task<int> RunChecksAsync(IReadOnlyCollection<string> only, Stopwatch clock, CancellationToken cancel)
    {
        var checks = Checks.Where(c => only.Count == 0 || c.Name == "install" || only.Contains(c.Name)).ToArray();
        int passed = 0;
        foreach ((string name, int minutes, Func<SystemCheck, CancellationToken, Task<string>> run) in checks)
        {
            if (name == "purge-clean")
            {
                await SavePacketLogsAsync(cancel).ConfigureAwait(false); // the purge deletes them
            }

            passed += await RunCheckAsync(name, TimeSpan.FromMinutes(minutes), ct => run(this, ct), cancel).ConfigureAwait(false) ? 1 : 0;
        }

        if (!checks.Any(c => c.Name == "purge-clean"))
        {
            await SavePacketLogsAsync(cancel).ConfigureAwait(false);
        }

        await File.WriteAllTextAsync(Path.Combine(_artifacts, "latency.csv"), _latencies.ToString(), CancellationToken.None).ConfigureAwait(false);
        await SaveJournalsAsync(cancel).ConfigureAwait(false);
        foreach (EmulatedPi pi in new[] { Gateway, Device }.Where(pi => pi.AdapterReboots > 0))
        {
            // Not a failure of what runs on the Pis, but said: it made the run longer.
            string times = pi.AdapterReboots == 1 ? "once" : $"{pi.AdapterReboots} times";
            string note = $"note: the {pi.Name} came up without its USB network adapters {times} (the emulated USB controller did not enumerate them) and was rebooted for it";
            _summary.Add(note);
            _output.WriteLine(note);
        }

        string totals = string.Create(CultureInfo.InvariantCulture, $"system test: {passed} passed, {checks.Length - passed} failed ({clock.Elapsed.TotalMinutes:0.0} min)");
        _summary.Add(totals);
        await File.WriteAllLinesAsync(Path.Combine(_artifacts, "summary.txt"), _summary, CancellationToken.None).ConfigureAwait(false);
        _output.WriteLine(totals);
        return passed == checks.Length ? 0 : 1;
    }

    private async Task<bool> RunCheckAsync(string name, TimeSpan timeout, Func<CancellationToken, Task<string>> run, CancellationToken cancel)
    {
        var took = Stopwatch.StartNew();
        string line;
        bool passed = false;
        if (_lost is not null)
        {
            line = $"FAIL {name}: not run: {_lost}";
        }
        else
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            deadline.CancelAfter(timeout);
            try
            {
                foreach (Plant plant in _plants.Where(p => p.Check == name))
                {
                    await Must(plant.OnDevice ? Device : Gateway, plant.Script, $"the defect planted before {name}", deadline.Token).ConfigureAwait(false);
                    _output.WriteLine($"  planted on the {(plant.OnDevice ? Device : Gateway).Name}: {plant.Script}");
                }

                string detail = await run(deadline.Token).WaitAsync(deadline.Token).ConfigureAwait(false);
                line = $"PASS {name}: {detail}";
                passed = true;
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                line = $"FAIL {name}: not done within its {timeout.TotalMinutes:0} min";
            }
            catch (Exception e) when (e is CheckFailedException or TestbedException or GuestRebootedException)
            {
                line = $"FAIL {name}: {e.Message}";
            }
            catch (TimeoutException e)
            {
                _lost = $"a Pi stopped answering its control line during {name} ({e.Message})";
                line = $"FAIL {name}: {e.Message}";
            }
        }

        line += string.Create(CultureInfo.InvariantCulture, $" [{took.Elapsed.TotalSeconds:0} s]");
        _summary.Add(line);
        _output.WriteLine(line);
        await _output.FlushAsync(cancel).ConfigureAwait(false);
        return passed;
    }

    // install: README "On a Raspberry Pi" on each Pi; both services active.
    private async Task<string> InstallAsync(CancellationToken cancel)
    {
        GuestResult[] results = await _bed.InstallAsync(cancel).ConfigureAwait(false);
        EmulatedPi[] pis = [Gateway, Device];
        for (int i = 0; i < results.Length; i++)
        {
            if (!results[i].Succeeded)
            {
                throw new CheckFailedException($"on the {pis[i].Name}: {Tail(results[i].Output)}");
            }
        }

        // Both still running a few seconds on, not restarted: the device has fetched and driven the LED by then.
        await Task.Delay(TimeSpan.FromSeconds(5), cancel).ConfigureAwait(false);
        foreach ((EmulatedPi pi, string unit) in new[] { (Gateway, "anon-gateway"), (Device, "anon-client") })
        {
            string state = await Must(pi, $"systemctl is-active {unit}; systemctl show -p NRestarts --value {unit}", $"{unit} still active", cancel).ConfigureAwait(false);
            if (state.Split('\n', StringSplitOptions.TrimEntries) is not ["active", "0", ..])
            {
                string journal = (await Run(pi, $"journalctl -u {unit} -o cat --no-pager | tail -3", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false)).Output;
                throw new CheckFailedException($"{unit} on the {pi.Name} did not stay up ({state.Replace('\n', ' ').Trim()} restarts): {Tail(journal)}");
            }
        }

        return "apt install ./anon-gateway_…_arm64.deb and ./anon-client_…_arm64.deb, /etc/anon/*.env set, both services up 5 s later with no restart";
    }

    // boot: both Pis rebooted, to multi-user.target; both services started by systemd; the gateway's start line.
    private async Task<string> BootAsync(CancellationToken cancel)
    {
        await Task.WhenAll(_bed.RebootAsync(Gateway, cancel), _bed.RebootAsync(Device, cancel)).ConfigureAwait(false);
        var detail = new List<string>();
        foreach ((EmulatedPi pi, string unit) in new[] { (Gateway, "anon-gateway"), (Device, "anon-client") })
        {
            string state = (await Run(pi, "systemctl is-system-running --wait; systemctl --failed --no-legend --plain", TimeSpan.FromMinutes(4), cancel).ConfigureAwait(false)).Output.Trim();
            if (!state.StartsWith("running", StringComparison.Ordinal))
            {
                throw new CheckFailedException($"the {pi.Name} is {state.Replace('\n', ' ')}");
            }

            await Must(pi, $"systemctl is-active {unit}", $"{unit} active after the boot", cancel).ConfigureAwait(false);
            string took = await Must(pi, "systemd-analyze | head -1", "systemd-analyze", cancel).ConfigureAwait(false);
            detail.Add($"{pi.Name} {StartupTime(took)}");
        }

        string journal = await Must(Gateway, "journalctl -b -u anon-gateway -o cat --no-pager", "the gateway's journal", cancel).ConfigureAwait(false);
        if (!journal.Contains("anonGateway: serving ", StringComparison.Ordinal))
        {
            throw new CheckFailedException($"the gateway's journal of this boot has no start line (\"anonGateway: serving …\"): {Tail(journal)}");
        }

        return $"both at multi-user.target with their services active ({string.Join(", ", detail)}); the gateway's journal: \"{journal.Split('\n').First(l => l.Contains("anonGateway: serving ", StringComparison.Ordinal)).Trim()}\"";
    }

    // led-follows-page: GPIO 17 high for LIGHTON, low for LIGHTOFF, through four changes of the page.
    private async Task<string> LedFollowsPageAsync(CancellationToken cancel)
    {
        await WaitForLedAsync(LightCommand.LightOn, "on-at-start", TimeSpan.FromMinutes(1), cancel).ConfigureAwait(false);
        var latencies = new List<double>();
        LightCommand[] changes = [LightCommand.LightOff, LightCommand.LightOn, LightCommand.LightOff, LightCommand.LightOn];
        for (int i = 0; i < changes.Length; i++)
        {
            latencies.Add(await MeasureChangeAsync(i + 1, changes[i], cancel).ConfigureAwait(false));
        }

        latencies.Sort();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"LIGHTON: GPIO17 out hi; then {changes.Length} changes, each followed by the pin; page to pin median {Median(latencies):0.00} s, worst {latencies[^1]:0.00} s (latency.csv)");
    }

    // device-isolated: the web server out of the device Pi's reach, in the gateway Pi's.
    private async Task<string> DeviceIsolatedAsync(CancellationToken cancel)
    {
        string page = _bed.PageOnGatewayPi.ToString();
        string fromGateway = await Must(Gateway, $"curl -sS -m 10 -o /tmp/page {page} && head -1 /tmp/page", "curl of the page", cancel).ConfigureAwait(false);
        if (!fromGateway.StartsWith("COMMAND=", StringComparison.Ordinal))
        {
            throw new CheckFailedException($"the gateway Pi could not read the page: {Tail(fromGateway)}");
        }

        GuestResult direct = await Run(Device, $"curl -sS -m 10 -o /dev/null {page}", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        // Not even through the gateway Pi as a router: it forwards nothing.
        GuestResult routed = await Run(
            Device,
            $"ip route add 10.0.2.0/24 via {DeviceNetwork.GatewayAddress}; curl -sS -m 10 -o /dev/null {page}; status=$?; ip route del 10.0.2.0/24; exit $status",
            TimeSpan.FromSeconds(30),
            cancel).ConfigureAwait(false);
        if (direct.Succeeded || routed.Succeeded)
        {
            throw new CheckFailedException($"the device Pi reached the web server{(direct.Succeeded ? "" : " through the gateway Pi")}");
        }

        return $"gateway Pi: \"{fromGateway.Trim()}\"; device Pi: \"{direct.Output.Trim()}\", and through the gateway Pi as its router: \"{routed.Output.Trim()}\"";
    }

    // gateway-restart-no-failed-fetch, socket-activation-restart: three restarts under a device that fetches every second.
    private async Task<string> RestartsAsync(bool socketActivation, CancellationToken cancel)
    {
        if (socketActivation)
        {
            // README "As services (systemd)", word for word.
            await Must(Gateway, "systemctl stop anon-gateway && systemctl enable --now anon-gateway.socket anon-gateway", "enabling anon-gateway.socket", cancel).ConfigureAwait(false);
            await Must(Gateway, "systemctl is-active anon-gateway.socket anon-gateway", "anon-gateway.socket active", cancel).ConfigureAwait(false);
            await WaitForFetchesAsync(await LineCountAsync(Gateway, GatewayLog, cancel).ConfigureAwait(false), 1, 60, cancel).ConfigureAwait(false);
        }

        int clientLines = await LineCountAsync(Device, ClientLog, cancel).ConfigureAwait(false);
        string since = (await Must(Device, "date +%s", "date", cancel).ConfigureAwait(false)).Trim();
        var served = new List<int>();
        for (int restart = 1; restart <= 3; restart++)
        {
            int gatewayLines = await LineCountAsync(Gateway, GatewayLog, cancel).ConfigureAwait(false);
            await Must(Gateway, "systemctl restart anon-gateway", "systemctl restart anon-gateway", cancel).ConfigureAwait(false);
            served.Add(await WaitForFetchesAsync(gatewayLines, 3, 60, cancel).ConfigureAwait(false));
            string log = await Must(Gateway, $"tail -n +{gatewayLines + 1} {GatewayLog}", "the gateway's log", cancel).ConfigureAwait(false);
            if (socketActivation && !log.Contains("using the UDP socket systemd passed", StringComparison.Ordinal))
            {
                throw new CheckFailedException($"after restart {restart} the gateway bound the port itself: no socket passed by systemd in its log");
            }

            await StartLineTellsTheTruthAsync(log, $"after restart {restart}", cancel).ConfigureAwait(false);
        }

        string failures = await Must(
            Device,
            $"journalctl -u anon-client --since @{since} -o cat --no-pager | grep 'trying again'; tail -n +{clientLines + 1} {ClientLog} | grep ' error: '; true",
            "the device's journal and log",
            cancel).ConfigureAwait(false);
        if (failures.Trim().Length > 0)
        {
            throw new CheckFailedException($"the device failed fetches during the restarts: {Tail(failures)}");
        }

        return $"3 restarts{(socketActivation ? " on the socket systemd holds" : "")}; the restarted gateways served the device {string.Join(", ", served)} times before the next; no failed fetch in the device's journal or log";
    }

    /// <summary>
    /// The start line's "listening on UDP port P[ of ADDRESS]" names the address the socket is bound
    /// to (as ss sees it), or none when it is bound to every address: with socket activation it is
    /// the socket unit's ListenDatagram= that decides, not --bind.
    /// </summary>
    private async Task StartLineTellsTheTruthAsync(string log, string when, CancellationToken cancel)
    {
        string? line = log.Split('\n').LastOrDefault(l => l.Contains("; listening on UDP port ", StringComparison.Ordinal));
        Match claim = ListeningClaim().Match(line ?? "");
        if (!claim.Success)
        {
            throw new CheckFailedException($"{when} the gateway's log has no start line: {Tail(log)}");
        }

        string port = claim.Groups["port"].Value;
        string bound = (await Must(Gateway, $"ss -Hulnp 'sport = :{port}' | grep anonGateway | awk '{{print $4}}'", "ss", cancel).ConfigureAwait(false)).Trim();
        string claimed = claim.Groups["address"].Success ? claim.Groups["address"].Value : "";
        bool truthful = claimed.Length == 0
            ? bound is { Length: > 0 } && (bound.StartsWith("*:", StringComparison.Ordinal) || bound.StartsWith("0.0.0.0:", StringComparison.Ordinal) || bound.StartsWith("[::]:", StringComparison.Ordinal))
            : bound == $"{claimed}:{port}" || bound == $"[{claimed}]:{port}";
        if (!truthful)
        {
            throw new CheckFailedException($"{when} the gateway's start line says \"listening on UDP port {port}{(claimed.Length > 0 ? $" of {claimed}" : "")}\", but its socket is bound to {(bound.Length > 0 ? bound : "nothing")}");
        }
    }

    // reboot-with-upstream-down: the web server stopped, the gateway Pi rebooted: it serves its cached page, the device keeps getting it.
    private async Task<string> RebootWithUpstreamDownAsync(CancellationToken cancel)
    {
        await _bed.StopWebAsync().ConfigureAwait(false);
        try
        {
            var took = Stopwatch.StartNew();
            await _bed.RebootAsync(Gateway, cancel).ConfigureAwait(false);
            await Must(Gateway, "systemctl is-system-running --wait >/dev/null; systemctl is-active anon-gateway", "anon-gateway active after the reboot", cancel).ConfigureAwait(false);
            string journal = await Must(Gateway, "journalctl -b -u anon-gateway -o cat --no-pager", "the gateway's journal", cancel).ConfigureAwait(false);
            string? cached = journal.Split('\n').FirstOrDefault(l => l.Contains("serving the copy kept in", StringComparison.Ordinal));
            if (cached is null)
            {
                throw new CheckFailedException($"the gateway's journal of this boot does not say it serves its cached copy: {Tail(journal)}");
            }

            int gatewayLines = await LineCountAsync(Gateway, GatewayLog, cancel).ConfigureAwait(false);
            // The device backs off while the gateway is away (at most 5 min between tries): it comes back within that.
            await WaitForFetchesAsync(gatewayLines, 1, 300, cancel).ConfigureAwait(false);
            await WaitForLedAsync(LightCommand.LightOn, "on-after-gateway-reboot", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
            await SamePageAsync(LightCommand.LightOn, cancel).ConfigureAwait(false);
            return string.Create(CultureInfo.InvariantCulture, $"the device fetched the page again {took.Elapsed.TotalSeconds:0} s after the reboot began; the gateway: \"{cached.Trim()}\"");
        }
        finally
        {
            await _bed.StartWebAsync().ConfigureAwait(false);
        }
    }

    // device-reboot: after the device Pi's reboot its LED shows the page's command again.
    private async Task<string> DeviceRebootAsync(CancellationToken cancel)
    {
        await WaitForLedAsync(LightCommand.LightOn, "on-before-device-reboot", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        var took = Stopwatch.StartNew();
        await _bed.RebootAsync(Device, cancel).ConfigureAwait(false);
        string pin = await WaitForLedAsync(LightCommand.LightOn, "on-after-device-reboot", TimeSpan.FromMinutes(3), cancel).ConfigureAwait(false);
        string led = (await Must(Device, "cat /var/lib/anon-client/led", "the LED's state file", cancel).ConfigureAwait(false)).Trim();
        if (led != "ON")
        {
            throw new CheckFailedException($"/var/lib/anon-client/led says {led}, the page LIGHTON");
        }

        return string.Create(CultureInfo.InvariantCulture, $"GPIO17 \"{pin}\" and /var/lib/anon-client/led ON {took.Elapsed.TotalSeconds:0} s after the reboot began");
    }

    // rogue-gateway-refused: with the publisher's key on both Pis (README "On the device too"), a rogue
    // answering on the device network in the gateway's place cannot switch the LED or roll it back.
    private async Task<string> RogueGatewayRefusedAsync(CancellationToken cancel)
    {
        Publisher publisher = await Publisher.CreateAsync(Path.Combine(_artifacts, "publisher")).ConfigureAwait(false);
        Publisher stranger = await Publisher.CreateAsync(Path.Combine(_artifacts, "stranger")).ConfigureAwait(false);
        byte[] on = await File.ReadAllBytesAsync(Testbed.FixtureOf(LightCommand.LightOn), cancel).ConfigureAwait(false);
        byte[] off = await File.ReadAllBytesAsync(Testbed.FixtureOf(LightCommand.LightOff), cancel).ConfigureAwait(false);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        // The publisher signs the page (LIGHTON, as the checks before left it); both Pis get the key
        // and the device accepts that page. Then the publisher's next page, LIGHTOFF, switches the LED.
        byte[] firstOn = await publisher.SignAsync(on, now.AddMinutes(-2)).ConfigureAwait(false);
        byte[] currentOff = await publisher.SignAsync(off, now.AddMinutes(-1)).ConfigureAwait(false);
        _bed.Publish(SignatureName, firstOn);
        _bed.SetPage(LightCommand.LightOn);
        int beforeKey = await LineCountAsync(Device, ClientLog, cancel).ConfigureAwait(false);
        GuestResult[] restarted = await _bed.UsePageKeyAsync(publisher.PublicKeyLine, cancel).ConfigureAwait(false);
        foreach ((GuestResult result, EmulatedPi pi) in restarted.Zip([Gateway, Device]))
        {
            if (!result.Succeeded)
            {
                throw new CheckFailedException($"--page-key on the {pi.Name}: {Tail(result.Output)}");
            }
        }

        await WaitForClientLogAsync(beforeKey, "signature checked: ", 1, cancel).ConfigureAwait(false);
        await WaitForLedAsync(LightCommand.LightOn, "on-signed", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        _bed.Publish(SignatureName, currentOff);
        _bed.SetPage(LightCommand.LightOff);
        await WaitForLedAsync(LightCommand.LightOff, "off-signed", TimeSpan.FromMinutes(1), cancel).ConfigureAwait(false);

        // The rogues: the gateway Pi taken over, its own anonGateway run as root without a key, serving
        // what it likes on the page's and the signature's ports. Each tries to switch the LED on.
        (string Name, byte[]? Signature, string Refusal)[] rogues =
        [
            ("LIGHTON with the genuine signature of LIGHTOFF", currentOff, "the signature does not match the page"),
            ("LIGHTON signed by another key", await stranger.SignAsync(on, now).ConfigureAwait(false), "the signature is by another key"),
            ("the publisher's LIGHTON this device accepted before, replayed with its genuine signature", firstOn, "a rollback or a replay"),
            ("LIGHTON without a signature", null, "no signature for the page"),
        ];
        string socketWas = (await Run(Gateway, "systemctl is-active anon-gateway.socket", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false)).Output.Trim();
        await Must(Gateway, "systemctl stop anon-gateway.socket anon-gateway", "stopping anon-gateway", cancel).ConfigureAwait(false);
        var refused = new List<string>();
        try
        {
            for (int i = 0; i < rogues.Length; i++)
            {
                (string name, byte[]? signature, string refusal) = rogues[i];
                int clientLines = await LineCountAsync(Device, ClientLog, cancel).ConfigureAwait(false);
                await StartRogueAsync(i, on, signature, cancel).ConfigureAwait(false);
                string line;
                try
                {
                    line = await WaitForClientLogAsync(clientLines, "error: ", 2, cancel, refusal).ConfigureAwait(false);
                }
                catch (CheckFailedException e)
                {
                    string pin = (await Run(Device, $"grep '(GPIO{Testbed.LedPin} ' /sys/kernel/debug/gpio", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false)).Output.Trim();
                    throw new CheckFailedException($"{name}: not refused ({e.Message}); the pin: {pin}");
                }


                await WaitForLedAsync(LightCommand.LightOff, $"off-under-rogue-{i + 1}", TimeSpan.FromSeconds(5), cancel).ConfigureAwait(false);
                await SamePageAsync(LightCommand.LightOff, cancel).ConfigureAwait(false);
                await StopRoguesAsync(cancel).ConfigureAwait(false);
                refused.Add($"{name}: \"{line}\"");
            }
        }
        finally
        {
            await StopRoguesAsync(cancel).ConfigureAwait(false);
            await Must(Gateway, socketWas == "active" ? "systemctl start anon-gateway.socket anon-gateway" : "systemctl start anon-gateway", "starting anon-gateway again", cancel).ConfigureAwait(false);
        }

        // The publisher's next page still reaches the LED through the genuine gateway.
        _bed.Publish(SignatureName, await publisher.SignAsync(on, DateTimeOffset.UtcNow).ConfigureAwait(false));
        _bed.SetPage(LightCommand.LightOn);
        await WaitForLedAsync(LightCommand.LightOn, "on-signed-after-rogues", TimeSpan.FromMinutes(2), cancel).ConfigureAwait(false);
        await SamePageAsync(LightCommand.LightOn, cancel).ConfigureAwait(false);
        return $"the key on both Pis, a signed LIGHTOFF switched GPIO17 off; then {rogues.Length} rogues on the gateway Pi's address, each refused with the pin low and the file unchanged: {string.Join("; ", refused)}; then the publisher's next page (LIGHTON) switched it on";
    }

    private const string SignatureName = Testbed.PageName + ".minisig";

    /// <summary>The gateway Pi's anonGateway, run by hand without a key, serving <paramref name="page"/> and, on the signature's port, <paramref name="signature"/> (none when null).</summary>
    private async Task StartRogueAsync(int rogue, byte[] page, byte[]? signature, CancellationToken cancel)
    {
        string pageName = $"ROGUE-{rogue}";
        _bed.Publish(pageName, page);
        var script = new StringBuilder("set -e\n");
        void Serve(string unit, int port, string name) => script.Append(CultureInfo.InvariantCulture,
            $"systemd-run --quiet --unit={unit} --property=RuntimeMaxSec=300 /usr/bin/anonGateway -p {port} -l /run/{unit}.log -w {_bed.OnGatewayPi(name)} --bind {DeviceNetwork.GatewayAddress}\n");
        Serve("rogue-page", Testbed.PagePort, pageName);
        if (signature is not null)
        {
            _bed.Publish(pageName + ".minisig", signature);
            Serve("rogue-signature", Testbed.SignaturePort, pageName + ".minisig");
        }

        script.Append("for i in $(seq 100); do grep -q 'listening on UDP port' /run/rogue-page.log 2>/dev/null && exit 0; sleep 0.2; done; echo \"the rogue did not start: $(tail -2 /run/rogue-page.log)\"; exit 1\n");
        await Must(Gateway, script.ToString(), "starting the rogue", cancel).ConfigureAwait(false);
    }

    private async Task StopRoguesAsync(CancellationToken cancel) =>
        await Run(Gateway, "systemctl stop rogue-page rogue-signature 2>/dev/null; systemctl reset-failed rogue-page rogue-signature 2>/dev/null; rm -f /run/rogue-*.log; true", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);

    /// <summary>
    /// Waits, up to a minute, for <paramref name="count"/> lines of the device's log past line
    /// <paramref name="fromLine"/> that contain <paramref name="text"/> (and <paramref name="also"/>,
    /// when given); returns the last, without its time.
    /// </summary>
    private async Task<string> WaitForClientLogAsync(int fromLine, string text, int count, CancellationToken cancel, string also = "")
    {
        string matching = $"tail -n +{fromLine + 1} {ClientLog} | grep -F '{text}' | grep -F '{also}'";
        string what = also.Length > 0 ? $"'{text}' and '{also}'" : $"'{text}'";
        string script = $"""
            end=$((SECONDS + 60))
            while [ $SECONDS -lt $end ]; do
                n=$({matching} | wc -l)
                if [ "$n" -ge {count} ]; then {matching} | tail -1; exit 0; fi
                sleep 0.2
            done
            echo "the device's log has $n lines with {what} in a minute, not {count}; its last event: $(grep -v '^SEND \|^RECV ' {ClientLog} | tail -1)"; exit 1
            """;
        string line = (await Must(Device, script, "the device's log", cancel, TimeSpan.FromSeconds(90)).ConfigureAwait(false)).Trim();
        return line.Split(' ', 2) is [_, string message] ? message : line;
    }

    // logs-readable: the packet logs readable by adm, not by others; logrotate --force leaves the services writing the new files.
    private async Task<string> LogsReadableAsync(CancellationToken cancel)
    {
        var detail = new List<string>();
        foreach ((EmulatedPi pi, string package, string log) in new[] { (Gateway, "anon-gateway", GatewayLog), (Device, "anon-client", ClientLog) })
        {
            string script = $"""
                set -e
                id reader >/dev/null 2>&1 || useradd --no-create-home --groups adm reader
                id outsider >/dev/null 2>&1 || useradd --no-create-home outsider
                su -s /bin/sh reader -c 'tail -n 1 {log}' >/dev/null
                if su -s /bin/sh outsider -c 'cat {log}' >/dev/null 2>&1; then echo "a user outside adm reads {log}"; exit 1; fi
                logrotate --force /etc/logrotate.d/{package}
                test -s {log}.1
                for i in $(seq 1 100); do [ -s {log} ] && break; sleep 0.1; done
                if [ ! -s {log} ]; then echo "no new {log} 10 s after the rotation"; exit 1; fi
                before=$(stat -c %s {log}.1); new=$(stat -c %s {log})
                sleep 5
                if [ "$(stat -c %s {log}.1)" != "$before" ]; then echo "{log}.1 still grows after the rotation"; exit 1; fi
                if [ "$(stat -c %s {log})" -le "$new" ]; then echo "the new {log} does not grow"; exit 1; fi
                echo "$(stat -c %s {log}.1) $(stat -c %s {log})"
                """;
            string sizes = await Must(pi, script, $"the log check of {log}", cancel).ConfigureAwait(false);
            detail.Add($"{log} (rotated at {sizes.Trim().Split(' ')[0]} bytes, the new one growing)");
        }

        return $"read by a user in adm, refused to another; {string.Join("; ", detail)}";
    }

    // purge-clean: apt purge leaves no file of the packages, no unit link, no process.
    private async Task<string> PurgeCleanAsync(CancellationToken cancel)
    {
        var detail = new List<string>();
        foreach ((EmulatedPi pi, string package, string program, string[] folders) in new[]
        {
            (Gateway, "anon-gateway", "anonGateway", new[] { "/etc/anon", "/var/log/anon-gateway", "/var/cache/anon-gateway", "/var/cache/private/anon-gateway" }),
            (Device, "anon-client", "anonclient", new[] { "/etc/anon", "/var/log/anon-client", "/var/lib/anon-client", "/var/lib/private/anon-client" }),
        })
        {
            // Every path of the package's is under a name with "anon" in it; the others it lists are shared folders (/usr/bin).
            string script = $"""
                files=$(dpkg -L {package})
                if ! DEBIAN_FRONTEND=noninteractive apt purge -y {package} >/dev/null 2>&1; then echo "apt purge {package} failed"; exit 1; fi
                left=""
                for f in $files {string.Join(' ', folders)} $(find /etc/systemd /var/lib/systemd -name '{package}*' 2>/dev/null); do
                    case $f in *anon*) if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi ;; esac
                done
                pgrep -x {program} >/dev/null && left="$left (a running {program})"
                echo "$(echo $files | wc -w)$left"
                """;
            string[] words = (await Must(pi, script, $"apt purge {package}", cancel).ConfigureAwait(false)).Trim().Split(' ', 2);
            if (words.Length > 1 && words[1].Trim().Length > 0)
            {
                throw new CheckFailedException($"after apt purge {package} on the {pi.Name}, left behind: {words[1].Trim()}");
            }

            detail.Add($"{package} ({words[0]} paths)");
        }

        return $"nothing left of {string.Join(" or ", detail)}, their folders, unit links or processes";
    }

    private const string GatewayLog = "/var/log/anon-gateway/gateway.log";
    private const string ClientLog = "/var/log/anon-client/client.log";

    /// <summary>
    /// Changes the page and measures when the device's pin follows: the guest watches the kernel's
    /// view of the line every 20 ms and notes the guest's time of the change, corrected by the
    /// clocks' offset measured just before (the probe with the shortest round trip, of three).
    /// </summary>
    private async Task<double> MeasureChangeAsync(int change, LightCommand command, CancellationToken cancel)
    {
        double offset = await ClockOffsetAsync(cancel).ConfigureAwait(false);
        string want = command == LightCommand.LightOn ? "out hi" : "out lo";
        string script = $$"""
            polls=0
            while [ $polls -lt 1500 ]; do
                polls=$((polls + 1))
                while IFS= read -r line; do case $line in *"(GPIO{{Testbed.LedPin}} "*) state=$line ;; esac; done </sys/kernel/debug/gpio
                case $state in *"{{want}}"*) echo "$EPOCHREALTIME $polls"; cat /sys/kernel/debug/gpio; exit 0 ;; esac
                sleep 0.02
            done
            echo "GPIO{{Testbed.LedPin}} never showed {{want}}: $state"; exit 1
            """;
        Task<GuestResult> watching = Device.RunAsync(script, TimeSpan.FromSeconds(90), cancel);
        await Task.Delay(TimeSpan.FromSeconds(2), cancel).ConfigureAwait(false); // the watch is running by then
        _bed.SetPage(command);
        DateTimeOffset written = DateTimeOffset.UtcNow;
        GuestResult result = await watching.ConfigureAwait(false);
        string[] lines = result.Output.Split('\n', 2);
        string[] first = lines[0].Trim().Split(' ');
        if (!result.Succeeded || first.Length != 2)
        {
            throw new CheckFailedException($"change {change} to {command.ToPageText()}: {Tail(result.Output)}");
        }

        if (first[1] == "1")
        {
            throw new CheckFailedException($"change {change}: the pin showed {want} before the page changed");
        }

        await SaveGpioAsync($"change-{change}-{(command == LightCommand.LightOn ? "on" : "off")}", lines.Length > 1 ? lines[1] : "", cancel).ConfigureAwait(false);
        double changedAt = double.Parse(first[0], CultureInfo.InvariantCulture) - offset;
        double latency = changedAt - (written.ToUnixTimeMilliseconds() / 1000.0);
        _latencies.Append(string.Create(
            CultureInfo.InvariantCulture,
            $"{change},{command.ToPageText()},{written:yyyy-MM-ddTHH:mm:ss.fffZ},{DateTimeOffset.FromUnixTimeMilliseconds((long)(changedAt * 1000)):yyyy-MM-ddTHH:mm:ss.fffZ},{latency:0.000},{offset:0.000}\n"));
        return latency;
    }

    /// <summary>The device's clock minus the host's, in seconds: NTP's estimate from the probe with the shortest round trip.</summary>
    private async Task<double> ClockOffsetAsync(CancellationToken cancel)
    {
        double best = double.MaxValue;
        double offset = 0;
        for (int probe = 0; probe < 3; probe++)
        {
            double sent = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            string guest = await Must(Device, "echo $EPOCHREALTIME", "the clock probe", cancel).ConfigureAwait(false);
            double received = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            if (received - sent < best)
            {
                best = received - sent;
                offset = double.Parse(guest.Trim(), CultureInfo.InvariantCulture) - ((sent + received) / 2);
            }
        }

        return offset;
    }

    /// <summary>Waits until GPIO 17 shows <paramref name="command"/>; saves the kernel's view as device-gpio-N-NAME.txt; returns the line's state.</summary>
    private async Task<string> WaitForLedAsync(LightCommand command, string name, TimeSpan timeout, CancellationToken cancel)
    {
        string want = command == LightCommand.LightOn ? "out hi" : "out lo";
        int seconds = (int)timeout.TotalSeconds;
        string script = $"""
            end=$((SECONDS + {seconds}))
            while [ $SECONDS -lt $end ]; do
                if grep -q '(GPIO{Testbed.LedPin} .*{want}' /sys/kernel/debug/gpio; then cat /sys/kernel/debug/gpio; exit 0; fi
                sleep 0.2
            done
            echo "GPIO{Testbed.LedPin} did not show {want} within {seconds} s:"; grep '(GPIO{Testbed.LedPin} ' /sys/kernel/debug/gpio
            exit 1
            """;
        GuestResult result = await Device.RunAsync(script, timeout + TimeSpan.FromSeconds(10), cancel).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new CheckFailedException($"{command.ToPageText()}: {Tail(result.Output)}");
        }

        await SaveGpioAsync(name, result.Output, cancel).ConfigureAwait(false);
        return GpioLine().Match(result.Output) is { Success: true } line ? line.Groups["state"].Value.Trim() : want;
    }

    /// <summary>The device's file holds the page of <paramref name="command"/>, byte for byte.</summary>
    private async Task SamePageAsync(LightCommand command, CancellationToken cancel)
    {
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Testbed.FixtureOf(command), cancel).ConfigureAwait(false)));
        string actual = (await Must(Device, "sha256sum < /var/lib/anon-client/command.txt", "sha256sum", cancel).ConfigureAwait(false)).Split(' ')[0];
        if (actual != expected)
        {
            throw new CheckFailedException($"the device's /var/lib/anon-client/command.txt is not the {command.ToPageText()} page (SHA-256 {actual})");
        }
    }

    /// <summary>
    /// Waits up to <paramref name="seconds"/> for <paramref name="count"/> completed transfers to the
    /// device in the gateway's log past line <paramref name="fromLine"/>; returns how many there were.
    /// </summary>
    private async Task<int> WaitForFetchesAsync(int fromLine, int count, int seconds, CancellationToken cancel)
    {
        string script = $"""
            end=$((SECONDS + {seconds}))
            while [ $SECONDS -lt $end ]; do
                n=$(tail -n +{fromLine + 1} {GatewayLog} 2>/dev/null | grep -c 'connection from {DeviceNetwork.DeviceAddress}:[0-9]* completed')
                if [ "$n" -ge {count} ]; then echo "$n"; exit 0; fi
                sleep 0.2
            done
            echo "the gateway completed $n transfers to the device in {seconds} s, not {count}"; exit 1
            """;
        string n = await Must(Gateway, script, "transfers to the device", cancel, TimeSpan.FromSeconds(seconds + 30)).ConfigureAwait(false);
        return int.Parse(n.Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task<int> LineCountAsync(EmulatedPi pi, string file, CancellationToken cancel) =>
        int.Parse((await Must(pi, $"cat {file} 2>/dev/null | wc -l", $"wc -l {file}", cancel).ConfigureAwait(false)).Trim(), CultureInfo.InvariantCulture);

    private async Task SaveGpioAsync(string name, string view, CancellationToken cancel) =>
        await File.WriteAllTextAsync(Path.Combine(_artifacts, $"device-gpio-{++_gpioSnapshots}-{name}.txt"), view, cancel).ConfigureAwait(false);

    /// <summary>Both services' journals over every boot, to journal-gateway.txt and journal-device.txt.</summary>
    private async Task SaveJournalsAsync(CancellationToken cancel)
    {
        foreach ((EmulatedPi pi, string units, string file) in new[]
        {
            (Gateway, "-u anon-gateway -u anon-gateway.socket", "journal-gateway.txt"),
            (Device, "-u anon-client", "journal-device.txt"),
        })
        {
            try
            {
                GuestResult journal = await pi.RunAsync($"journalctl -b all {units} -o short-iso-precise --no-pager", TimeSpan.FromMinutes(2), cancel).ConfigureAwait(false);
                await File.WriteAllTextAsync(Path.Combine(_artifacts, file), journal.Output, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or GuestRebootedException)
            {
                await File.WriteAllTextAsync(Path.Combine(_artifacts, file), $"not fetched: {e.Message}\n", cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The packet logs (both services' own, with every datagram), as they are now, to log-gateway.txt and log-device.txt.</summary>
    private async Task SavePacketLogsAsync(CancellationToken cancel)
    {
        foreach ((EmulatedPi pi, string log, string file) in new[] { (Gateway, GatewayLog, "log-gateway.txt"), (Device, ClientLog, "log-device.txt") })
        {
            try
            {
                GuestResult content = await pi.RunAsync($"cat {log}.1 {log} 2>/dev/null", TimeSpan.FromMinutes(2), cancel).ConfigureAwait(false);
                await File.WriteAllTextAsync(Path.Combine(_artifacts, file), content.Output, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or GuestRebootedException)
            {
                await File.WriteAllTextAsync(Path.Combine(_artifacts, file), $"not fetched: {e.Message}\n", cancel).ConfigureAwait(false);
            }
        }
    }

    private static Task<GuestResult> Run(EmulatedPi pi, string script, TimeSpan limit, CancellationToken cancel) => pi.RunAsync(script, limit, cancel);

    /// <summary>Runs a script that must succeed; its output.</summary>
    private static async Task<string> Must(EmulatedPi pi, string script, string what, CancellationToken cancel, TimeSpan? limit = null)
    {
        GuestResult result = await pi.RunAsync(script, limit ?? TimeSpan.FromMinutes(1), cancel).ConfigureAwait(false);
        return result.Succeeded ? result.Output : throw new CheckFailedException($"{what} on the {pi.Name} failed (exit {result.Status}): {Tail(result.Output)}");
    }

    private static string Tail(string output)
    {
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no output)" : string.Join(" | ", lines.TakeLast(3));
    }

    private static string StartupTime(string systemdAnalyze) =>
        StartupTotal().Match(systemdAnalyze) is { Success: true } m ? $"up in {m.Groups["total"].Value}" : systemdAnalyze.Trim();

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    [GeneratedRegex(@"= (?<total>[0-9.min ]+s)\s*$", RegexOptions.Multiline)]
    private static partial Regex StartupTotal();

    [GeneratedRegex(@"listening on UDP port (?<port>[0-9]+)( of (?<address>\S+))?$")]
    private static partial Regex ListeningClaim();

    [GeneratedRegex(@"\(GPIO17 [^)]*\)(?<state>[^\n]*)")]
    private static partial Regex GpioLine();
}

/// <summary>
/// A defect planted on purpose just before a check (<c>--plant CHECK=gateway:SCRIPT</c>), to see the
/// check catch it: a check is trusted once it has been seen failing (docs/TESTING.md lists the plants).
/// </summary>
internal sealed record Plant(string Check, bool OnDevice, string Script)
{
    /// <summary>Reads CHECK=gateway:SCRIPT or CHECK=device:SCRIPT; null when it is neither.</summary>
    public static Plant? Parse(string text)
    {
        string[] parts = text.Split('=', 2);
        if (parts.Length != 2 || !SystemCheck.Names.Contains(parts[0]))
        {
            return null;
        }

        string[] where = parts[1].Split(':', 2);
        return where is ["gateway" or "device", { Length: > 0 } script] ? new Plant(parts[0], where[0] == "device", script) : null;
    }
}

/// <summary>A check found the system wrong: the message says what it saw.</summary>
internal sealed class CheckFailedException(string message) : Exception(message);
