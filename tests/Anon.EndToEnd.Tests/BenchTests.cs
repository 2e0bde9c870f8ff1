using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>The benchmarks' own inputs stay usable as the code moves (they run by hand, not in CI).</summary>
public sealed class BenchTests
{
    /// <summary>bench/startup.sh --phases applies this patch to the client; a change to its Program.cs can leave it stale.</summary>
    [Fact]
    public async Task The_startup_phases_patch_still_applies_to_the_client()
    {
        ProcessResult check = await Programs.RunAsync(
            "git", ["-C", Repository.Root, "apply", "--check", Repository.PathOf("bench", "startup-phases.patch")], TimeSpan.FromSeconds(60));

        Assert.True(check.ExitCode == 0, $"bench/startup-phases.patch no longer applies: make it again as bench/startup.sh's head says: {check.Error}");
    }
}
