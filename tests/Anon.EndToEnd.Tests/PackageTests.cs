using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The Debian packages of deploy/debian/build.sh: lintian finds no error, each control file names
/// its architecture, version and run-time dependencies, the arm64 programs run from their package
/// under QEMU, and the amd64 packages install with dpkg, serve a signed page, carry units systemd
/// accepts, rotate the gateway's log with their logrotate file, and purge without a trace. `bash tests/run.sh` builds the packages and passes their
/// folder as ANON_DEB_DIR. Alone: `bash tests/run.sh --filter PackageTests`.
/// </summary>
public sealed class PackageTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private static readonly string? DebDirectory = Environment.GetEnvironmentVariable("ANON_DEB_DIR");
    private static readonly string? ArmDirectory = Environment.GetEnvironmentVariable("ANON_ARM_DIR");
    private static readonly string? NupkgDirectory = Environment.GetEnvironmentVariable("ANON_NUPKG_DIR");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly string[] Packages = ["anon-gateway", "anon-client", "anon-tools"];
    private readonly Scratch _scratch = new();

    /// <summary>The version every package carries: the project's, as the programs report it before the commit.</summary>
    private static async Task<string> ProjectVersionAsync() =>
        (await Programs.RunAsync(Programs.ClientPath, ["--version"], Timeout)).Output.Trim().Split('+')[0];

    private static async Task<string> DebAsync(string package, string architecture)
    {
        Skip.If(string.IsNullOrEmpty(DebDirectory), "ANON_DEB_DIR is not set: bash tests/run.sh builds the packages (deploy/debian/build.sh) and sets it");
        Skip.If(architecture == "arm64" && string.IsNullOrEmpty(ArmDirectory), "no arm64 build (ANON_ARM_DIR is not set), so no arm64 package");
        string path = Path.Combine(DebDirectory!, $"{package}_{await ProjectVersionAsync()}_{architecture}.deb");
        Assert.True(File.Exists(path), $"{path} is missing: run deploy/debian/build.sh amd64 arm64");
        return path;
    }

    [SkippableFact]
    public async Task Lintian_finds_no_error_in_any_package()
    {
        // The amd64 packages always; the arm64 ones when there is an arm64 build (a missing one
        // must not leave the amd64 packages unchecked).
        string[] architectures = string.IsNullOrEmpty(ArmDirectory) ? ["amd64"] : ["amd64", "arm64"];
        List<string> debs = [];
        foreach (string architecture in architectures)
        {
            foreach (string package in Packages)
            {
                debs.Add(await DebAsync(package, architecture));
            }
        }

        output.WriteLine($"lintian on {debs.Count} packages{(string.IsNullOrEmpty(ArmDirectory) ? " (no arm64 build: amd64 only)" : "")}");

        ProcessResult lintian = await Programs.RunAsync(Repository.Tool("lintian", "lintian"), ["--fail-on", "error", "--tag-display-limit", "0", .. debs], TimeSpan.FromMinutes(5));
        output.WriteLine(lintian.Output);

        Assert.True(lintian.ExitCode == 0, $"lintian: {lintian.Output}{lintian.Error}");
        Assert.DoesNotContain(lintian.Output.Split('\n'), line => line.StartsWith("E: ", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("anon-gateway", "amd64", "libssl3")]
    [InlineData("anon-gateway", "arm64", "libssl3")]
    [InlineData("anon-client", "amd64", "adduser")]
    [InlineData("anon-client", "arm64", "adduser")]
    [InlineData("anon-tools", "amd64", "libc6")]
    [InlineData("anon-tools", "arm64", "libc6")]
    public async Task The_control_file_names_the_architecture_the_version_and_what_the_program_loads(string package, string architecture, string dependency)
    {
        string deb = await DebAsync(package, architecture);

        ProcessResult fields = await Programs.RunAsync("dpkg-deb", ["--field", deb, "Package", "Version", "Architecture", "Depends", "Recommends"], Timeout);
        ProcessResult contents = await Programs.RunAsync("dpkg-deb", ["--contents", deb], Timeout);

        Assert.Contains($"Package: {package}\n", fields.Output, StringComparison.Ordinal);
        Assert.Contains($"Version: {await ProjectVersionAsync()}\n", fields.Output, StringComparison.Ordinal);
        Assert.Contains($"Architecture: {architecture}\n", fields.Output, StringComparison.Ordinal);
        Assert.Contains(dependency, fields.Output, StringComparison.Ordinal);
        if (package == "anon-client")
        {
            Assert.Contains("Recommends: libgpiod2 | libgpiod3", fields.Output, StringComparison.Ordinal);
            // The rule that opens the GPIO chips to the gpio group, without which Debian leaves them root's.
            Assert.Contains("./usr/lib/udev/rules.d/60-anon-client-gpio.rules", contents.Output, StringComparison.Ordinal);
            // The libsodium --page-key loads, beside the program (Debian's is older than NSec needs).
            Assert.Contains("./usr/lib/anon-client/libsodium.so", contents.Output, StringComparison.Ordinal);
        }

        string program = package switch { "anon-gateway" => "anonGateway", "anon-client" => "anonclient", _ => "anon-lab" };
        foreach (string file in new[] { $"./usr/bin/{program}", $"./usr/share/man/man1/{program}.1.gz", $"./usr/share/doc/{package}/copyright", $"./usr/share/doc/{package}/changelog.gz" })
        {
            Assert.Contains(file, contents.Output, StringComparison.Ordinal);
        }

        if (package == "anon-tools")
        {
            // A Native AOT program alone: no .NET runtime or assembly to install beside it, no service.
            Assert.DoesNotContain(".dll", contents.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("systemd", contents.Output, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"./usr/lib/systemd/system/{package}.service", contents.Output, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task The_arm64_packaged_programs_run_under_qemu_and_both_find_their_libsodium()
    {
        Skip.If(string.IsNullOrEmpty(ArmDirectory), "ANON_ARM_DIR is not set: bash tests/run.sh unpacks the arm64 sysroot (tests/arm/prepare.sh) and sets it");
        string root = _scratch.PathOf("root");
        foreach (string package in Packages)
        {
            Assert.Equal(0, (await Programs.RunAsync("dpkg-deb", ["--extract", await DebAsync(package, "arm64"), root], Timeout)).ExitCode);
        }

        // Run through the links in /usr/bin, as a user would: each program finds libsodium beside its target.
        string gatewayProgram = Emulated(Path.Combine(root, "usr", "bin", "anonGateway"));
        string clientProgram = Emulated(Path.Combine(root, "usr", "bin", "anonclient"));
        web.Server.Serve("LIGHTON_COMMAND.minisig", Expect.LightOnSignature);
        string signaturePort = Expect.FreeUdpPort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using GatewayProcess gateway = await GatewayProcess.StartProgramAsync(
            gatewayProgram, web.LightOn, _scratch.PathOf("g.log"), 0, "--page-key", Expect.LightOnSignatureKey, "--signature-port", signaturePort);

        ProcessResult client = await Programs.RunAsync(clientProgram, Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"),
            "--page-key", Expect.LightOnSignatureKey, "--signature-port", signaturePort, "--state-dir", _scratch.PathOf("state")), Timeout);

        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Contains("signature checked: the page was signed at 2026-", File.ReadAllText(_scratch.PathOf("c.log")), StringComparison.Ordinal);
        // The conformance suite from the anon-tools package grades that gateway, as on a grader's Pi.
        string lab = Emulated(Path.Combine(root, "usr", "bin", "anon-lab"));
        File.WriteAllBytes(_scratch.PathOf("page"), Expect.Fixture("LIGHTON_COMMAND"));
        ProcessResult graded = await Programs.RunAsync(lab,
            ["conformance", "gateway", $"127.0.0.1:{gateway.Port}", "--expect", _scratch.PathOf("page"), "--case", "gateway.content.byte-exact", "--case", "gateway.handshake.syn-ack"], Timeout);
        Assert.True(graded.ExitCode == 0, graded.Output + graded.Error);
        Assert.Contains("2 cases: 2 OK", graded.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        Assert.Contains(", signed at 2026-", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// Installed with dpkg alone, anon-tools grades a gateway with the suite: a correct one exits 0,
    /// a broken one 1 with the failure said, the program running alone (no assembly beside it); a
    /// purge leaves nothing behind.
    /// </summary>
    [SkippableFact]
    public async Task Installed_with_dpkg_anon_tools_grades_a_gateway_without_a_clone_or_dotnet_and_purges_clean()
    {
        Skip.IfNot(Environment.UserName == "root", "dpkg -i needs root (CI runs as root)");
        string deb = await DebAsync("anon-tools", "amd64");
        await RunAsync("dpkg", "--purge", "anon-tools"); // a run that stopped half-way
        HashSet<string> before = await SystemFilesAsync();
        try
        {
            ProcessResult install = await RunAsync("dpkg", "--install", deb);
            Assert.True(install.ExitCode == 0, install.Error);
            File.WriteAllBytes(_scratch.PathOf("page"), Expect.Fixture("LIGHTON_COMMAND"));
            string[] cases = ["--case", "gateway.content.byte-exact", "--case", "gateway.fin.last-segment"];
            // No .NET named to it: a framework-dependent anon-lab would look for an anon-lab.dll the
            // package does not hold and fail (seen, planted), where the Native AOT one runs alone.
            var bare = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = "/nonexistent" };

            await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));
            ProcessResult passed = await Programs.RunAsync("/usr/bin/anon-lab",
                ["conformance", "gateway", $"127.0.0.1:{gateway.Port}", "--expect", _scratch.PathOf("page"), .. cases], Timeout, bare);
            using var broken = new Anon.Lab.Conformance.SuiteGateway(Expect.Fixture("LIGHTON_COMMAND"), Anon.Lab.Conformance.Peers.BrokenGateways["never-fin"].Script);
            ProcessResult failed = await Programs.RunAsync("/usr/bin/anon-lab",
                ["conformance", "gateway", $"127.0.0.1:{broken.Port}", "--expect", _scratch.PathOf("page"), .. cases], Timeout, bare);

            Assert.True(passed.ExitCode == 0, passed.Output + passed.Error);
            Assert.Contains("2 cases: 2 OK", passed.Output, StringComparison.Ordinal);
            Assert.Equal(1, failed.ExitCode);
            Assert.Contains("the whole page arrived, but no segment carried FIN", failed.Output, StringComparison.Ordinal);
        }
        finally
        {
            await RunAsync("dpkg", "--purge", "anon-tools");
        }

        string[] left = [.. (await SystemFilesAsync()).Except(before).Where(path => !path.StartsWith("/var/cache/man/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        Assert.True(left.Length == 0, $"left behind after dpkg --purge: {string.Join(", ", left)}");
    }

    [SkippableFact]
    public async Task Installed_with_dpkg_they_serve_a_signed_page_and_a_purge_leaves_nothing_behind()
    {
        Skip.IfNot(Environment.UserName == "root", "dpkg -i needs root (CI runs as root)");
        string gatewayDeb = await DebAsync("anon-gateway", "amd64");
        string clientDeb = await DebAsync("anon-client", "amd64");
        await RunAsync("dpkg", "--purge", "anon-gateway", "anon-client"); // a run that stopped half-way
        HashSet<string> before = await SystemFilesAsync();
        try
        {
            ProcessResult install = await RunAsync("dpkg", "--install", gatewayDeb, clientDeb);
            Assert.Contains("set the page to serve (ANON_URL) in /etc/anon/gateway.env", install.Output, StringComparison.Ordinal);

            // The installed programs, by the names on PATH, do a real transfer of a signed page; the
            // package's logrotate file then rotates the gateway's log under it, and the next
            // transfer's lines are in a new log at the same path.
            const string GatewayLog = "/var/log/anon-gateway/gateway.log";
            web.Server.Serve("LIGHTON_COMMAND.minisig", Expect.LightOnSignature);
            string signaturePort = Expect.FreeUdpPort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            await using (GatewayProcess gateway = await GatewayProcess.StartProgramAsync(
                "/usr/bin/anonGateway", web.LightOn, GatewayLog, 0, "--page-key", Expect.LightOnSignatureKey, "--signature-port", signaturePort))
            {
                await AssertInstalledClientFetchesAsync(gateway.Port);
                ProcessResult device = await Programs.RunAsync("/usr/bin/anonclient", Expect.ClientArguments(gateway.Port, _scratch.PathOf("d.log"), _scratch.PathOf("d.out"),
                    "--page-key", Expect.LightOnSignatureKey, "--signature-port", signaturePort, "--state-dir", _scratch.PathOf("state")), Timeout);
                Assert.True(device.ExitCode == 0, device.Error); // the installed client checks the signature with the libsodium beside it
                await Expect.EventuallyAsync(() => File.ReadAllText(GatewayLog).Contains(" SYN", StringComparison.Ordinal), TimeSpan.FromSeconds(2)); // its next timed flush (0.2 s)
                ProcessResult dryRun = await RunAsync("logrotate", "--debug", "/etc/logrotate.d/anon-gateway");
                ProcessResult rotation = await RunAsync("logrotate", "--force", "--state", _scratch.PathOf("logrotate.state"), "/etc/logrotate.d/anon-gateway");
                Assert.True(dryRun.ExitCode == 0 && !dryRun.Error.Contains("error", StringComparison.OrdinalIgnoreCase), $"logrotate --debug: {dryRun.Error}");
                Assert.True(rotation.ExitCode == 0, $"logrotate: {rotation.Error}");
                await Expect.EventuallyAsync(() => File.Exists(GatewayLog), TimeSpan.FromSeconds(2)); // the gateway's next timed flush opens the new log
                await AssertInstalledClientFetchesAsync(gateway.Port);
                Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
            }

            Assert.Contains(" SYN", File.ReadAllText(GatewayLog + ".1"), StringComparison.Ordinal);
            Assert.Contains(" SYN", File.ReadAllText(GatewayLog), StringComparison.Ordinal);
            Assert.Contains("stopping", File.ReadAllText(GatewayLog), StringComparison.Ordinal);

            // The client's logrotate file likewise: a fetch logged where the unit logs, rotated, and
            // the next fetch's lines in a new log at the same path.
            const string ClientLog = "/var/log/anon-client/client.log";
            await using (GatewayProcess gateway = await GatewayProcess.StartProgramAsync("/usr/bin/anonGateway", web.LightOn, _scratch.PathOf("g.log"), 0, "--page-key", Expect.LightOnSignatureKey))
            {
                await AssertInstalledClientFetchesAsync(gateway.Port, ClientLog);
                ProcessResult dryRun = await RunAsync("logrotate", "--debug", "/etc/logrotate.d/anon-client");
                ProcessResult rotation = await RunAsync("logrotate", "--force", "--state", _scratch.PathOf("logrotate-client.state"), "/etc/logrotate.d/anon-client");
                Assert.True(dryRun.ExitCode == 0 && !dryRun.Error.Contains("error", StringComparison.OrdinalIgnoreCase), $"logrotate --debug: {dryRun.Error}");
                Assert.True(rotation.ExitCode == 0, $"logrotate: {rotation.Error}");
                Assert.False(File.Exists(ClientLog), "the client's log was not rotated");
                await AssertInstalledClientFetchesAsync(gateway.Port, ClientLog);
            }

            Assert.Contains(" SYN", File.ReadAllText(ClientLog + ".1"), StringComparison.Ordinal);
            Assert.Contains(" SYN", File.ReadAllText(ClientLog), StringComparison.Ordinal);

            foreach (string unit in new[] { "anon-gateway.service", "anon-gateway.socket", "anon-client.service" })
            {
                ProcessResult verify = await Programs.RunAsync("/usr/bin/systemd-analyze", ["verify", "--man=no", $"/usr/lib/systemd/system/{unit}"], Timeout);
                Assert.True(verify.ExitCode == 0 && verify.Error.Trim().Length == 0, $"systemd-analyze verify {unit}: {verify.Error}{verify.Output}");
            }

            string conffiles = (await RunAsync("dpkg-query", "--showformat=${Conffiles}", "--show", "anon-gateway")).Output;
            Assert.Contains(" /etc/anon/gateway.env ", conffiles, StringComparison.Ordinal);
            Assert.Contains(" /etc/logrotate.d/anon-gateway ", conffiles, StringComparison.Ordinal);
            Assert.Contains(" /etc/logrotate.d/anon-client ", (await RunAsync("dpkg-query", "--showformat=${Conffiles}", "--show", "anon-client")).Output, StringComparison.Ordinal);
            Assert.Equal("anon-gateway adm 2750", (await RunAsync("stat", "--format=%U %G %a", "/var/log/anon-gateway")).Output.Trim());
            Assert.Equal("anon-client adm 2750", (await RunAsync("stat", "--format=%U %G %a", "/var/log/anon-client")).Output.Trim());
            // The gpio group exists (made before the udev rule that names it was unpacked) and the client's user is in it.
            Assert.Contains("gpio", (await RunAsync("id", "--name", "--groups", "anon-client")).Output.Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            Assert.True(File.Exists("/etc/systemd/system/multi-user.target.wants/anon-gateway.service"), "the gateway's service is not enabled");
            Assert.False(File.Exists("/etc/systemd/system/sockets.target.wants/anon-gateway.socket"), "the socket unit is enabled without being asked for");
            await AssertUnconfiguredGatewayIsSkippedAsync();
        }
        finally
        {
            await RunAsync("dpkg", "--purge", "anon-client", "anon-gateway");
        }

        // man-db's trigger may tag its own cache folders; nothing else may stay.
        string[] left = [.. (await SystemFilesAsync()).Except(before).Where(path => !path.StartsWith("/var/cache/man/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        Assert.True(left.Length == 0, $"left behind after dpkg --purge: {string.Join(", ", left)}");
    }

    /// <summary>
    /// The .NET tool package, installed as README says (into a folder of the test's, not the global
    /// tools), grades a gateway: for whoever has the SDK and no Debian.
    /// </summary>
    [SkippableFact]
    public async Task The_dotnet_tool_package_installs_with_dotnet_tool_install_and_grades_a_gateway()
    {
        Skip.If(string.IsNullOrEmpty(NupkgDirectory), "ANON_NUPKG_DIR is not set: bash tests/run.sh packs anon-lab (dotnet pack tools/Anon.Lab) and sets it");
        string tools = _scratch.PathOf("tools");
        ProcessResult install = await RunAsync("dotnet", "tool", "install", "--tool-path", tools, "--add-source", NupkgDirectory!, "anon-lab");
        Assert.True(install.ExitCode == 0, install.Output + install.Error);
        File.WriteAllBytes(_scratch.PathOf("page"), Expect.Fixture("LIGHTON_COMMAND"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));

        ProcessResult graded = await Programs.RunAsync(Path.Combine(tools, "anon-lab"),
            ["conformance", "gateway", $"127.0.0.1:{gateway.Port}", "--expect", _scratch.PathOf("page"), "--case", "gateway.content.byte-exact"], Timeout);

        Assert.True(graded.ExitCode == 0, graded.Output + graded.Error);
        Assert.Contains("1 case: 1 OK", graded.Output, StringComparison.Ordinal);
    }

    private async Task AssertInstalledClientFetchesAsync(int port, string? log = null)
    {
        ProcessResult client = await Programs.RunAsync("/usr/bin/anonclient", Expect.ClientArguments(port, log ?? _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")), Timeout);
        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
    }

    /// <summary>
    /// The installed unit's ExecCondition, run as systemd would with the installed settings: with no
    /// page it fails (the unit is skipped, not restarted) and says what to set; with one it passes.
    /// </summary>
    private async Task AssertUnconfiguredGatewayIsSkippedAsync()
    {
        string condition = File.ReadAllLines("/usr/lib/systemd/system/anon-gateway.service")
            .Single(line => line.StartsWith("ExecCondition=/bin/sh -c '", StringComparison.Ordinal));
        string script = condition["ExecCondition=/bin/sh -c '".Length..^1].Replace("$$", "$", StringComparison.Ordinal);
        string settings = await File.ReadAllTextAsync("/etc/anon/gateway.env");

        ProcessResult unset = await RunShellAsync($"set -a; . /etc/anon/gateway.env; {script}");
        ProcessResult set = await RunShellAsync($"set -a; . /etc/anon/gateway.env; ANON_URL={web.LightOn}; {script}");

        Assert.Contains("\nANON_URL=\n", settings, StringComparison.Ordinal);
        Assert.Equal(1, unset.ExitCode);
        Assert.Contains("no page to serve yet: set ANON_URL in /etc/anon/gateway.env", unset.Error, StringComparison.Ordinal);
        Assert.Equal(0, set.ExitCode);
    }

    private static Task<ProcessResult> RunShellAsync(string script) => Programs.RunAsync("/bin/sh", ["-c", script], Timeout);

    private async Task<ProcessResult> RunAsync(string program, params string[] arguments)
    {
        ProcessResult result = await Programs.RunAsync(program, arguments, Timeout);
        output.WriteLine($"$ {program} {string.Join(' ', arguments)}: exit {result.ExitCode}\n{result.Output}{result.Error}");
        return result;
    }

    /// <summary>A wrapper that runs an arm64 executable under QEMU with the sysroot of tests/arm/prepare.sh.</summary>
    private string Emulated(string executable)
    {
        string wrapper = _scratch.PathOf(Path.GetFileName(executable) + ".sh");
        File.WriteAllText(wrapper, $"""
            #!/bin/sh
            export QEMU_LD_PREFIX="{Path.Combine(ArmDirectory!, "sysroot")}" DOTNET_GCRegionRange=100000000
            exec {Repository.Tool("qemu-aarch64-static", "qemu-user-static")} "{executable}" "$@"

            """);
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return wrapper;
    }

    /// <summary>Every path under the folders a package may touch (find(1): links listed, never followed), but for dpkg's own records.</summary>
    private static async Task<HashSet<string>> SystemFilesAsync()
    {
        ProcessResult find = await Programs.RunAsync("find", ["/etc", "/usr", "/var", "/opt", "/srv", "-xdev"], Timeout);
        return find.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(path => !path.StartsWith("/var/lib/dpkg/", StringComparison.Ordinal) && !path.StartsWith("/var/tmp/", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
    }

    public void Dispose() => _scratch.Dispose();
}
