using System.Diagnostics;
using System.Reflection;
using Anon.Io;

namespace Anon.Lab.Testbed;

/// <summary>
/// What an emulated Raspberry Pi 3 Model B boots: Debian's arm64 kernel and its Pi 3 device tree, a
/// busybox initramfs, and a Debian 12 root file system for its SD card. tools/testbed/build-image.sh
/// builds them from Debian's packages, or finds them in its cache, keyed by what goes into them.
/// </summary>
internal sealed record PiImage(string Kernel, string DeviceTree, string Initramfs, string RootFileSystem)
{
    /// <summary>This repository's root, which the build recorded.</summary>
    /// <exception cref="MissingDependencyException">It is not there (anon-lab runs from a package): the testbed needs a clone's scripts.</exception>
    public static string RepositoryRoot
    {
        get
        {
            string root = typeof(PiImage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(attribute => attribute.Key == "RepositoryRoot").Value!;
            return File.Exists(Path.Combine(root, "tools", "testbed", "build-image.sh"))
                ? root
                : throw new MissingDependencyException(
                    $"the testbed builds its Pis and packages with the scripts of a clone of the repository, and there is none at {root}: run it from a clone");
        }
    }

    /// <summary>Runs the image's build script (quick when the image is cached), its progress to <paramref name="progress"/>.</summary>
    /// <exception cref="TestbedException">The script failed; its last words say why.</exception>
    public static async Task<PiImage> BuildOrFindAsync(string? cacheDirectory, TextWriter progress, CancellationToken cancel)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot, "tools", "testbed", "build-image.sh"));
        if (cacheDirectory is not null)
        {
            start.ArgumentList.Add(cacheDirectory);
        }

        using Process process = Process.Start(start) ?? throw new TestbedException("cannot start bash for tools/testbed/build-image.sh");
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancel);
        string? lastWords = null;
        while (await process.StandardError.ReadLineAsync(cancel).ConfigureAwait(false) is { } line)
        {
            progress.WriteLine(line);
            lastWords = line;
        }

        await process.WaitForExitAsync(cancel).ConfigureAwait(false);
        string folder = (await output.ConfigureAwait(false)).Trim().Split('\n')[^1];
        if (process.ExitCode != 0 || !Directory.Exists(folder))
        {
            throw new TestbedException($"the Pi image could not be built (tools/testbed/build-image.sh exited with {process.ExitCode}{(lastWords is null ? "" : $": {lastWords}")})");
        }

        return new PiImage(
            Path.Combine(folder, "vmlinuz"), Path.Combine(folder, "pi3.dtb"), Path.Combine(folder, "initrd.img"), Path.Combine(folder, "rootfs.img"));
    }
}

/// <summary>The testbed cannot go on: one line that says what is wrong and what to do.</summary>
internal sealed class TestbedException(string message) : Exception(message);
