using System.Globalization;

namespace Anon.Lab.Testbed;

/// <summary>
/// A publisher of signed pages, as README "Signed pages" makes one: a key pair of Debian's minisign
/// (no password), kept in a folder of this machine, and a signature per page with the trusted
/// comment's <c>timestamp:N</c> given, so that a test decides which page is the older.
/// </summary>
internal sealed class Publisher
{
    private readonly string _folder;

    private Publisher(string folder, string publicKeyFile)
    {
        _folder = folder;
        PublicKeyFile = File.ReadAllText(publicKeyFile);
    }

    /// <summary>minisign.pub as minisign wrote it: its comment line and its base64 line.</summary>
    public string PublicKeyFile { get; }

    /// <summary>The base64 line of minisign.pub, which <c>--page-key</c> takes as well as the file.</summary>
    public string PublicKeyLine => PublicKeyFile.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[^1];

    /// <summary>Makes a new key pair in <paramref name="folder"/> (replacing one there).</summary>
    /// <exception cref="TestbedException">minisign is missing or fails.</exception>
    public static async Task<Publisher> CreateAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        string publicKey = Path.Combine(folder, "minisign.pub");
        await MinisignAsync(["-G", "-W", "-f", "-p", publicKey, "-s", Path.Combine(folder, "minisign.key")]).ConfigureAwait(false);
        return new Publisher(folder, publicKey);
    }

    /// <summary>The signature file (<c>PAGE.minisig</c>) of <paramref name="page"/>, signed as at <paramref name="signedAt"/>.</summary>
    public async Task<byte[]> SignAsync(byte[] page, DateTimeOffset signedAt)
    {
        string file = Path.Combine(_folder, "page");
        await File.WriteAllBytesAsync(file, page).ConfigureAwait(false);
        string comment = string.Create(CultureInfo.InvariantCulture, $"timestamp:{signedAt.ToUnixTimeSeconds()}\tfile:{Testbed.PageName}");
        await MinisignAsync(["-S", "-s", Path.Combine(_folder, "minisign.key"), "-m", file, "-t", comment]).ConfigureAwait(false);
        return await File.ReadAllBytesAsync(file + ".minisig").ConfigureAwait(false);
    }

    private static async Task MinisignAsync(string[] arguments)
    {
        const string Minisign = "/usr/bin/minisign";
        if (!File.Exists(Minisign))
        {
            throw new TestbedException("minisign is not installed, which signs the testbed's pages: apt install minisign");
        }

        ProcessResult result = await Programs.RunAsync(Minisign, arguments, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new TestbedException($"minisign {string.Join(' ', arguments)} failed (exit {result.ExitCode}): {result.Error.Trim()}");
        }
    }
}
