using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Anon.Commands;

namespace Anon.Lab.Testbed;

/// <summary>
/// <c>anon-lab testbed up|down|check</c>: the whole system on two emulated Raspberry Pis (README
/// "Try it without a Pi"; tools/testbed/README.md).
/// </summary>
internal static class TestbedCommand
{
    private const string PidFileName = "testbed.pid";

    private static string ArtifactsFolder => Path.Combine(PiImage.RepositoryRoot, "artifacts");

    public static Command Create()
    {
        var command = new Command("testbed", "The whole system on two emulated Raspberry Pi 3s: the packages under systemd, the LED on GPIO 17, the device cut off from the web.");
        command.Subcommands.Add(UpCommand());
        command.Subcommands.Add(DownCommand());
        command.Subcommands.Add(CheckCommand());
        return command;
    }

    private static Option<string> PackagesOption() => new("--packages")
    {
        Description = "The folder of the arm64 packages to install (anon-gateway_*_arm64.deb, anon-client_*_arm64.deb); by default they are built into artifacts/deb first.",
        HelpName = "folder",
    };

    private static Option<string> CacheOption() => new("--cache")
    {
        Description = "Where the Pi image is kept between runs (default: ~/.cache/anon-testbed).",
        HelpName = "folder",
    };

    private static Option<double> BootTimeoutOption() => new("--boot-timeout")
    {
        Description = "Seconds a Pi may take to boot, each time, before it counts as not coming up.",
        HelpName = "seconds",
        DefaultValueFactory = _ => TestbedSettings.DefaultBootTimeout.TotalSeconds,
    };

    private static Command UpCommand()
    {
        var packages = PackagesOption();
        var cache = CacheOption();
        var bootTimeout = BootTimeoutOption();
        var command = new Command("up", "Boot both Pis with the packages installed, then show the LED as the page changes; type on or off to change the page. Ends at Ctrl+C or 'testbed down'.")
        {
            packages, cache, bootTimeout,
        };
        command.SetAction(async (parsed, cancel) => await UpAsync(
            parsed.GetValue(packages), parsed.GetValue(cache), TimeSpan.FromSeconds(parsed.GetValue(bootTimeout)), cancel).ConfigureAwait(false));
        return command;
    }

    private static Command DownCommand()
    {
        var command = new Command("down", "Stop the Pis that 'testbed up' started.");
        command.SetAction(_ => Down());
        return command;
    }

    private static Command CheckCommand()
    {
        var packages = PackagesOption();
        var cache = CacheOption();
        var bootTimeout = BootTimeoutOption();
        var artifacts = new Option<string>("--artifacts")
        {
            Description = "Where the consoles, journals, GPIO views, latencies and summary go.",
            HelpName = "folder",
            DefaultValueFactory = _ => Path.Combine(ArtifactsFolder, "system"),
        };
        var only = new Option<string[]>("--only")
        {
            Description = $"Run only these checks (and install, which they need): {string.Join(", ", SystemCheck.Names)}.",
            HelpName = "check",
            AllowMultipleArgumentsPerToken = true,
        };
        only.AcceptOnlyFromAmong([.. SystemCheck.Names]);
        var plant = new Option<Plant[]>("--plant")
        {
            Description = "Before CHECK, run SCRIPT as root on the gateway or device Pi: a defect planted to see that CHECK catches it (CHECK=gateway:SCRIPT, repeatable).",
            HelpName = "check=pi:script",
            CustomParser = result =>
            {
                var plants = new List<Plant>();
                foreach (var token in result.Tokens)
                {
                    if (Plant.Parse(token.Value) is { } parsed)
                    {
                        plants.Add(parsed);
                    }
                    else
                    {
                        result.AddError($"--plant takes CHECK=gateway:SCRIPT or CHECK=device:SCRIPT, CHECK one of {string.Join(", ", SystemCheck.Names)}; not '{token.Value}'");
                    }
                }

                return [.. plants];
            },
        };
        var command = new Command("check", "The system test: boot both Pis, install the packages and check the whole system, one line per check.")
        {
            packages, cache, bootTimeout, artifacts, only, plant,
        };
        command.SetAction(async (parsed, cancel) =>
        {
            string? folder = await PackagesAsync(parsed.GetValue(packages), cancel).ConfigureAwait(false);
            if (folder is null)
            {
                return 1;
            }

            var settings = new TestbedSettings(
                Path.GetFullPath(parsed.GetRequiredValue(artifacts)), folder, parsed.GetValue(cache), TimeSpan.FromSeconds(parsed.GetValue(bootTimeout)));
            return await SystemCheck.RunAsync(settings, parsed.GetValue(only) ?? [], parsed.GetValue(plant) ?? [], Console.Out, cancel).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> UpAsync(string? packageFolder, string? cacheFolder, TimeSpan bootTimeout, CancellationToken cancel)
    {
        string runFolder = Path.Combine(ArtifactsFolder, "testbed");
        string pidFile = Path.Combine(runFolder, PidFileName);
        if (RunningUp(pidFile) is { } running)
        {
            Console.Error.WriteLine($"testbed: already up (anon-lab, pid {running}): stop it first with: dotnet run --project tools/Anon.Lab -- testbed down");
            return 1;
        }

        string? folder = await PackagesAsync(packageFolder, cancel).ConfigureAwait(false);
        if (folder is null)
        {
            return 1;
        }

        Directory.CreateDirectory(runFolder);
        Testbed bed;
        try
        {
            bed = await Testbed.StartAsync(new TestbedSettings(runFolder, folder, cacheFolder, bootTimeout), Console.Out, cancel).ConfigureAwait(false);
        }
        catch (TestbedException e)
        {
            Console.Error.WriteLine($"testbed: {e.Message}");
            return 1;
        }

        await using (bed.ConfigureAwait(false))
        {
            await File.WriteAllTextAsync(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
            try
            {
                Console.WriteLine("testbed: installing the packages as README \"On a Raspberry Pi\" says (about a minute)");
                GuestResult[] installed = await bed.InstallAsync(cancel).ConfigureAwait(false);
                if (installed.FirstOrDefault(result => !result.Succeeded) is { } failed)
                {
                    Console.Error.WriteLine($"testbed: the install failed: {failed.Output.Trim()}");
                    return 1;
                }

                Describe(bed);
                await FollowAsync(bed, cancel).ConfigureAwait(false);
                return 0;
            }
            finally
            {
                File.Delete(pidFile);
                Console.WriteLine("testbed: stopping both Pis");
            }
        }
    }

    private static void Describe(Testbed bed)
    {
        bool socat = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, "socat")));
        Console.WriteLine($"""

            Both Pis run the packages, installed with apt, under systemd:
              gateway Pi  192.168.2.1 on the device network; it downloads {bed.PageOnGatewayPi}
              device Pi   192.168.2.2, the device network only; anonclient fetches every {Testbed.WatchSeconds} s and drives GPIO {Testbed.LedPin}
            The web page: {bed.PageOnHost}, the file {bed.PageFile}
              type on or off and Enter here to change it (or write another page into that file).
            A root shell on each Pi (Ctrl+] leaves it){(socat ? "" : "; socat is not installed: sudo apt install socat")}:
              socat -,rawer,escape=0x1d UNIX-CONNECT:{bed.Gateway.ConsoleSocket}
              socat -,rawer,escape=0x1d UNIX-CONNECT:{bed.Device.ConsoleSocket}
            Their consoles, logged: {bed.Gateway.ConsoleLog}, {bed.Device.ConsoleLog}
            Stop both: Ctrl+C here, or: dotnet run --project tools/Anon.Lab -- testbed down

            """);
    }

    /// <summary>Shows the LED as the kernel sees GPIO 17 whenever it changes, and changes the page on "on" or "off".</summary>
    private static async Task FollowAsync(Testbed bed, CancellationToken cancel)
    {
        _ = Task.Run(() => ReadCommands(bed, cancel), CancellationToken.None);
        string? shown = null;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                GuestResult view = await bed.Device.RunAsync($"grep '(GPIO{Testbed.LedPin} ' /sys/kernel/debug/gpio", TimeSpan.FromSeconds(20), cancel).ConfigureAwait(false);
                string led = view.Output.Contains("out hi", StringComparison.Ordinal) ? "ON " : view.Output.Contains("out lo", StringComparison.Ordinal) ? "OFF" : "not driven";
                if (led != shown)
                {
                    Console.WriteLine($"{DateTime.Now:HH:mm:ss} LED {led}  (GPIO{Testbed.LedPin}: {view.Output.Trim().Split(')', 2)[^1].Trim()})");
                    shown = led;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e) when (e is TimeoutException or GuestRebootedException)
            {
                Console.WriteLine($"{DateTime.Now:HH:mm:ss} the device Pi does not answer ({e.Message}); waiting for it");
                await bed.Device.Control.WaitForBootAsync(bed.Device.Control.BootId, cancel).ConfigureAwait(false);
            }
        }
    }

    private static void ReadCommands(Testbed bed, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested && Console.ReadLine() is { } line)
        {
            LightCommand? command = line.Trim().ToUpperInvariant() switch
            {
                "ON" or "LIGHTON" => LightCommand.LightOn,
                "OFF" or "LIGHTOFF" => LightCommand.LightOff,
                _ => null,
            };
            if (command is { } page)
            {
                bed.SetPage(page);
                Console.WriteLine($"{DateTime.Now:HH:mm:ss} page: {page.ToPageText()} (the gateway refreshes every second, the device fetches every {Testbed.WatchSeconds} s)");
            }
            else if (line.Trim().Length > 0)
            {
                Console.WriteLine("type on or off (Ctrl+C stops the Pis)");
            }
        }
    }

    /// <summary>Ends the 'up' process (which stops its Pis), then any QEMU of its run still there (if 'up' was killed).</summary>
    private static int Down()
    {
        string runFolder = Path.Combine(ArtifactsFolder, "testbed");
        int stopped = 0;
        if (RunningUp(Path.Combine(runFolder, PidFileName)) is { } up)
        {
            stopped += Stop(up) ? 1 : 0;
        }

        foreach (string pidFile in Directory.Exists(runFolder) ? Directory.GetFiles(runFolder, "*-qemu.pid") : [])
        {
            if (int.TryParse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture, out int pid) && IsOurs(pid, "qemu-system-aarch64", runFolder))
            {
                stopped += Stop(pid) ? 1 : 0;
            }

            File.Delete(pidFile);
        }

        File.Delete(Path.Combine(runFolder, PidFileName));
        Console.WriteLine(stopped == 0 ? "testbed: nothing is up" : "testbed: stopped");
        return 0;
    }

    private static bool Stop(int pid)
    {
        try
        {
            using Process process = Process.GetProcessById(pid);
            Programs.Terminate(process);
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill();
            }

            return true;
        }
        catch (ArgumentException)
        {
            return false; // gone meanwhile
        }
    }

    /// <summary>The process <paramref name="pid"/> is still one of ours: its command line names <paramref name="program"/> and <paramref name="mark"/>.</summary>
    private static bool IsOurs(int pid, string program, string mark)
    {
        try
        {
            string commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            return commandLine.Contains(program, StringComparison.Ordinal) && commandLine.Contains(mark, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int? RunningUp(string pidFile) =>
        File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture, out int pid)
            && IsOurs(pid, "anon-lab", "testbed") ? pid : null;

    /// <summary>The given folder, or the packages built now from this tree (deploy/debian/build.sh arm64) into artifacts/deb.</summary>
    private static async Task<string?> PackagesAsync(string? given, CancellationToken cancel)
    {
        if (given is not null)
        {
            return Path.GetFullPath(given);
        }

        Console.WriteLine("testbed: building the arm64 packages from this tree (bash deploy/debian/build.sh arm64)");
        var start = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(PiImage.RepositoryRoot, "deploy", "debian", "build.sh"));
        start.ArgumentList.Add("arm64");
        using Process build = Process.Start(start)!;
        await build.StandardOutput.ReadToEndAsync(cancel).ConfigureAwait(false);
        await build.WaitForExitAsync(cancel).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            Console.Error.WriteLine($"testbed: the arm64 packages did not build (deploy/debian/build.sh exited with {build.ExitCode}; its messages are above)");
            return null;
        }

        return Path.Combine(ArtifactsFolder, "deb");
    }
}
