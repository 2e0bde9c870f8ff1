using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Anon.Io;

namespace Anon.Gateway.Page;

/// <summary>
/// The last good page on disk (<c>--cache-dir</c>), so that a gateway that restarts while its
/// upstream is down still has a command for its devices. One file, written whole or not at all (a
/// temporary file beside it, flushed to disk, renamed over it), with the page's URL, when it was
/// fetched, its validators for the next conditional GET, and a SHA-256 over all of it: a torn or
/// corrupted copy is recognised and never served.
/// </summary>
/// <remarks>
/// The format, a header of text lines, an empty line, then the page's bytes:
/// <code>
/// anon-gateway page cache 1
/// url https://example.org/LIGHTON_COMMAND
/// fetched 1796140800123        (Unix milliseconds)
/// etag "abc"                   (or -)
/// last-modified 1796140000     (Unix seconds, or -)
/// length 13112
/// signature BASE64             (under --page-key, its .minisig file; or -)
/// sha256 HEX                   (of the lines above, each with its \n, then the page)
/// </code>
/// </remarks>
public sealed class PageCache
{
    private const string Magic = "anon-gateway page cache 1";

    public PageCache(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        FilePath = Path.Combine(directory, "page");
    }

    /// <summary>The file the copy lives in.</summary>
    public string FilePath { get; }

    /// <summary>
    /// <see cref="Save"/>, or the log's warning line when the copy cannot be written: the cache helps
    /// a later start, it is no condition for serving the page now.
    /// </summary>
    /// <returns>The warning logged; null when the copy was kept.</returns>
    public string? SaveOrWarn(Uri url, PageVersion page, DateTimeOffset fetchedAt, PacketLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        try
        {
            Save(url, page, fetchedAt);
            return null;
        }
        catch (FileWriteException e)
        {
            string warning = $"warning: {e.Message}; the page is served all the same";
            log.Event(warning);
            return warning;
        }
    }

    /// <summary>Keeps <paramref name="page"/> as the last good copy of <paramref name="url"/>.</summary>
    /// <exception cref="FileWriteException">The directory cannot be written.</exception>
    public void Save(Uri url, PageVersion page, DateTimeOffset fetchedAt)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(page);
        var header = new StringBuilder()
            .Append(Magic).Append('\n')
            .Append("url ").Append(url.AbsoluteUri).Append('\n')
            .Append(CultureInfo.InvariantCulture, $"fetched {fetchedAt.ToUnixTimeMilliseconds()}\n")
            .Append("etag ").Append(page.ETag?.ToString() ?? "-").Append('\n')
            .Append("last-modified ").Append(page.LastModified is { } modified ? modified.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) : "-").Append('\n')
            .Append(CultureInfo.InvariantCulture, $"length {page.Content.Length}\n")
            .Append("signature ").Append(page.Signature is { } signature ? Convert.ToBase64String(Encoding.UTF8.GetBytes(signature)) : "-").Append('\n');
        byte[] covered = Encoding.UTF8.GetBytes(header.ToString());
        string checksum = Convert.ToHexStringLower(Checksum(covered, page.Content));
        string temporary = FilePath + ".part";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                file.Write(covered);
                file.Write(Encoding.UTF8.GetBytes($"sha256 {checksum}\n\n"));
                file.Write(page.Content);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, FilePath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileWriteException($"cannot write the page cache '{FilePath}': {e.Message}", e);
        }
    }

    /// <summary>The copy kept for <paramref name="url"/>, or null with the reason there is none to serve.</summary>
    public CachedPage? Load(Uri url, out string? whyNone)
    {
        ArgumentNullException.ThrowIfNull(url);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(FilePath);
        }
        catch (FileNotFoundException)
        {
            whyNone = $"no cached copy in {Path.GetDirectoryName(FilePath)}";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            whyNone = $"the cached copy '{FilePath}' cannot be read: {e.Message}";
            return null;
        }

        CachedPage? page = Parse(bytes, out whyNone);
        if (page is not null && page.Url != url.AbsoluteUri)
        {
            whyNone = $"the cached copy is of another URL ({page.Url})";
            return null;
        }

        if (whyNone is not null)
        {
            whyNone = $"the cached copy '{FilePath}' is not usable: {whyNone}";
        }

        return page;
    }

    private static CachedPage? Parse(byte[] bytes, out string? whyNot)
    {
        int end = bytes.AsSpan().IndexOf("\n\n"u8);
        if (end < 0)
        {
            whyNot = "it has no header";
            return null;
        }

        string[] lines = Encoding.UTF8.GetString(bytes, 0, end).Split('\n');
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in lines.Skip(1))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0)
            {
                fields[line[..space]] = line[(space + 1)..];
            }
        }

        ReadOnlySpan<byte> content = bytes.AsSpan(end + 2);
        int checksumLine = bytes.AsSpan(0, end).LastIndexOf("\nsha256 "u8) + 1;
        if (lines[0] != Magic || checksumLine <= 0 || !fields.TryGetValue("sha256", out string? checksum)
            || !fields.TryGetValue("url", out string? url)
            || !long.TryParse(fields.GetValueOrDefault("fetched"), NumberStyles.None, CultureInfo.InvariantCulture, out long fetched)
            || !int.TryParse(fields.GetValueOrDefault("length"), NumberStyles.None, CultureInfo.InvariantCulture, out int length))
        {
            whyNot = "its header is not one this gateway writes";
            return null;
        }

        if (length != content.Length || !checksum.Equals(Convert.ToHexStringLower(Checksum(bytes.AsSpan(0, checksumLine), content)), StringComparison.Ordinal))
        {
            whyNot = "its checksum does not match (torn or corrupted)";
            return null;
        }

        EntityTagHeaderValue? etag = fields.GetValueOrDefault("etag") is { } tag && tag != "-" && EntityTagHeaderValue.TryParse(tag, out EntityTagHeaderValue? parsed) ? parsed : null;
        DateTimeOffset? lastModified = long.TryParse(fields.GetValueOrDefault("last-modified"), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
        string? signature = fields.GetValueOrDefault("signature") is { Length: > 1 } encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(encoded)) : null;
        whyNot = null;
        return new CachedPage(url, new PageVersion(content.ToArray(), etag, lastModified, MaxAge: null, signature), DateTimeOffset.FromUnixTimeMilliseconds(fetched));
    }

    private static byte[] Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(content);
        return hash.GetHashAndReset();
    }
}

/// <summary>A page read back from the <see cref="PageCache"/>.</summary>
/// <param name="FetchedAt">When upstream last gave or confirmed it.</param>
public sealed record CachedPage(string Url, PageVersion Page, DateTimeOffset FetchedAt);
