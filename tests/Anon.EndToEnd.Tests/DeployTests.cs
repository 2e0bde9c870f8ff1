using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>The systemd units in deploy/ pass systemd's own checks, pointed at the built programs.</summary>
public sealed class DeployTests : IDisposable
{
    private readonly Scratch _scratch = new();

    [SkippableTheory]
    [InlineData("anon-gateway.service")]
    [InlineData("anon-gateway.socket")]
    [InlineData("anon-client.service")]
    [InlineData("nginx/anon-gateway@.service")]
    public async Task The_unit_passes_systemd_analyze_verify(string unit)
    {
        const string Analyzer = "/usr/bin/systemd-analyze";
        Skip.IfNot(File.Exists(Analyzer), "no systemd-analyze on this machine (Debian's systemd package; tests/run.sh installs it)");

        string source = Repository.PathOf("deploy", unit);
        unit = Path.GetFileName(unit).Replace("@.", "@30001.", StringComparison.Ordinal); // a template is verified as an instance
        string programs = Path.GetDirectoryName(unit.Contains("gateway", StringComparison.Ordinal) ? Programs.GatewayPath : Programs.ClientPath)!;
        string copy = _scratch.PathOf(unit);
        await File.WriteAllTextAsync(copy, (await File.ReadAllTextAsync(source)).Replace("/usr/bin/anon", programs + "/anon", StringComparison.Ordinal));

        List<string> verified = [copy];
        if (unit.EndsWith(".socket", StringComparison.Ordinal))
        {
            // A socket unit is verified with the service it starts, as they are installed together.
            string service = _scratch.PathOf(Path.ChangeExtension(unit, ".service"));
            await File.WriteAllTextAsync(service, (await File.ReadAllTextAsync(Path.ChangeExtension(source, ".service"))).Replace("/usr/bin/anon", programs + "/anon", StringComparison.Ordinal));
            verified.Add(service);
        }

        ProcessResult result = await Programs.RunAsync(Analyzer, ["verify", "--man=no", .. verified], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0 && result.Error.Trim().Length == 0, $"systemd-analyze verify {unit}: {result.Error}{result.Output}");
    }

    public void Dispose() => _scratch.Dispose();
}
