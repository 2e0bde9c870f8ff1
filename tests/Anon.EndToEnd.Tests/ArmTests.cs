using System.Net;
using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The linux-arm64 Native AOT builds (what a 64-bit Raspberry Pi OS runs), executed here under QEMU
/// user-mode emulation: each way round with the x64 build, arm64 to arm64, through loss, and the
/// exit codes of bad input; the "pi" single-file build smoke-tested. `tests/arm/prepare.sh` builds
/// them and the wrappers that run them; the test command passes their folder as ANON_ARM_DIR.
/// Alone: `bash tests/run.sh --filter ArmTests`.
/// </summary>
public sealed class ArmTests(WebFixture web, ITestOutputHelper output) : IClassFixture<WebFixture>, IDisposable
{
    private static readonly string? ArmDirectory = Environment.GetEnvironmentVariable("ANON_ARM_DIR");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly Scratch _scratch = new();

    private static string Arm(string program)
    {
        Skip.If(string.IsNullOrEmpty(ArmDirectory), "ANON_ARM_DIR is not set: bash tests/run.sh builds the arm64 programs (tests/arm/prepare.sh) and sets it");
        string path = Path.Combine(ArmDirectory!, program);
        Assert.True(File.Exists(path), $"{path} is missing: run tests/arm/prepare.sh");
        return path;
    }

    [SkippableFact]
    public async Task Both_arm64_programs_run_and_report_the_version_of_this_build()
    {
        ProcessResult x64 = await Programs.RunAsync(Programs.ClientPath, ["--version"], Timeout);
        foreach (string program in new[] { "anonGateway", "anonclient" })
        {
            ProcessResult arm = await Programs.RunAsync(Arm(program), ["--version"], Timeout);
            Assert.Equal(0, arm.ExitCode);
            Assert.Equal(x64.Output.Trim(), arm.Output.Trim());
        }

        // The executable's ELF header names its machine (e_machine at offset 18): 183 is EM_AARCH64.
        // Read directly, so the check needs no file(1) on the machine.
        byte[] header = new byte[20];
        await using (FileStream binary = File.OpenRead(Path.Combine(ArmDirectory!, "bin", "anonclient")))
        {
            await binary.ReadExactlyAsync(header);
        }

        output.WriteLine($"ELF e_machine {BitConverter.ToUInt16(header, 18)}");
        // "\x7FELF" would not do: C#'s \x takes up to four hex digits and reads \x7FE.
        Assert.True(header.AsSpan(0, 4).SequenceEqual("\u007FELF"u8), "not an ELF executable");
        Assert.Equal(183, BitConverter.ToUInt16(header, 18));
    }

    [SkippableTheory]
    [InlineData("x64", "arm64")]
    [InlineData("arm64", "x64")]
    [InlineData("arm64", "arm64")]
    public async Task A_transfer_between_the_builds_is_byte_exact(string gatewayBuild, string clientBuild)
    {
        string gatewayProgram = gatewayBuild == "arm64" ? Arm("anonGateway") : Programs.GatewayPath;
        string clientProgram = clientBuild == "arm64" ? Arm("anonclient") : Programs.ClientPath;
        await using GatewayProcess gateway = await GatewayProcess.StartProgramAsync(gatewayProgram, web.LightOff, _scratch.PathOf("g.log"), 0);

        ProcessResult client = await Programs.RunAsync(clientProgram, Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")), Timeout);

        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Contains("LED is OFF", client.Output, StringComparison.Ordinal);
        Assert.Equal(Expect.Fixture("LIGHTOFF_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
        Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        Expect.WellFormedLog(_scratch.PathOf("g.log"));
        Expect.WellFormedLog(_scratch.PathOf("c.log"));
    }

    [SkippableFact]
    public async Task Arm64_to_arm64_through_ten_percent_loss_each_way_is_byte_exact()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartProgramAsync(Arm("anonGateway"), web.LightOn, _scratch.PathOf("g.log"), 0);
        await using var relay = new LossyRelay(new IPEndPoint(IPAddress.Loopback, gateway.Port), 0.1, seed: 2026);

        ProcessResult client = await Programs.RunAsync(
            Arm("anonclient"), Expect.ClientArguments(relay.EndPoint.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "30"), Timeout);

        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
    }

    [SkippableFact]
    public async Task Bad_input_gets_the_documented_exit_codes_on_arm64_too()
    {
        ProcessResult badPort = await Programs.RunAsync(Arm("anonclient"), ["-s", "127.0.0.1", "-p", "70000", "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("o")], Timeout);
        ProcessResult nobody = await Programs.RunAsync(
            Arm("anonclient"), Expect.ClientArguments(Expect.FreeUdpPort(), _scratch.PathOf("c.log"), _scratch.PathOf("o"), "--timeout", "1"), Timeout);
        ProcessResult badUrl = await Programs.RunAsync(Arm("anonGateway"), ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", "ftp://example.org/x"], Timeout);
        ProcessResult unwritable = await Programs.RunAsync(Arm("anonGateway"), ["-p", "0", "-l", "/nonexistent-dir/g.log", "-w", web.LightOn.ToString()], Timeout);

        Assert.Equal((64, 69, 64, 73), (badPort.ExitCode, nobody.ExitCode, badUrl.ExitCode, unwritable.ExitCode));
        Assert.Contains("no answer from the gateway within 1 s", nobody.Error, StringComparison.Ordinal);
        foreach (ProcessResult result in new[] { badPort, nobody, badUrl, unwritable })
        {
            Expect.NoStackTrace(result);
        }
    }

    [SkippableFact]
    public async Task The_single_file_pi_build_runs_too()
    {
        // The "pi" profile's self-contained single file JITs, which emulation makes slow: smoke only.
        ProcessResult version = await Programs.RunAsync(Arm("anonGateway-pi"), ["--version"], Timeout);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("g.log"));
        ProcessResult client = await Programs.RunAsync(
            Arm("anonclient-pi"), Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt"), "--timeout", "60"), Timeout);

        Assert.Equal(0, version.ExitCode);
        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
    }

    [SkippableFact]
    public async Task The_arm64_gateway_checks_a_signed_page_with_libsodium()
    {
        web.Server.Serve("LIGHTON_COMMAND.minisig", Expect.LightOnSignature);
        // The genuine signature beside a page with one bit changed: the key ids match, so only
        // libsodium's check of the signature can refuse it.
        byte[] tampered = Expect.Fixture("LIGHTON_COMMAND");
        tampered[^1] ^= 1;
        Uri tamperedUrl = web.Server.Serve("tampered-arm", tampered);
        web.Server.Serve("tampered-arm.minisig", Expect.LightOnSignature);
        string[] key = ["--page-key", Expect.LightOnSignatureKey];
        await using GatewayProcess gateway = await GatewayProcess.StartProgramAsync(Arm("anonGateway"), web.LightOn, _scratch.PathOf("g.log"), 0, key);
        ProcessResult altered = await Programs.RunAsync(
            Arm("anonGateway"), ["-p", "0", "-l", _scratch.PathOf("g2.log"), "-w", tamperedUrl.ToString(), .. key], Timeout);

        Assert.Equal(0, (await gateway.StopAsync()).ExitCode); // its log is then whole
        Assert.Contains(", signed at 2026-", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
        Assert.Equal(76, altered.ExitCode);
        Assert.Contains("the signature does not match the page (altered, or signed by someone else)", altered.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _scratch.Dispose();
}
