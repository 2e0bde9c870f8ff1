using System.Runtime.CompilerServices;

namespace Anon.Ladder.Tests;

/// <summary>
/// Compares output with a file in golden/. To accept a deliberate change, run the tests with
/// ANON_UPDATE_GOLDEN=1, which rewrites the files in the source tree, and review the diff.
/// </summary>
internal static class Golden
{
    public static string Input(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", name));

    public static string[] InputLines(string name) => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "golden", name));

    public static void Matches(string name, string actual, [CallerFilePath] string testSource = "")
    {
        string source = Path.Combine(Path.GetDirectoryName(testSource)!, "golden", name);
        if (Environment.GetEnvironmentVariable("ANON_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(source, actual);
            return;
        }

        string expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", name));
        Assert.True(expected == actual, $"output differs from golden/{name}; if the change is meant, rerun with ANON_UPDATE_GOLDEN=1 and review the diff.\n--- actual ---\n{actual}");
    }
}
