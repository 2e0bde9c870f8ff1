using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Anon.Io;
using NSec.Cryptography;

namespace Anon.Signing;

/// <summary>
/// A publisher's minisign public key (<c>--page-key</c>): the base64 line of its <c>minisign.pub</c>,
/// or the path of that file. Its blob is the algorithm <c>Ed</c>, an 8-byte key id and the 32-byte
/// Ed25519 public key (minisign's format, as Debian's <c>minisign</c> writes it).
/// </summary>
public sealed class MinisignKey
{
    private const int BlobLength = 2 + 8 + 32;

    private MinisignKey(ReadOnlyMemory<byte> keyId, PublicKey key)
    {
        KeyId = keyId;
        Key = key;
    }

    /// <summary>The 8 bytes that name the key; a signature names the key that made it.</summary>
    public ReadOnlyMemory<byte> KeyId { get; }

    internal PublicKey Key { get; }

    /// <summary>Reads the key from its base64 line or from its file.</summary>
    /// <exception cref="UsageException">Neither a minisign public key nor a file that holds one.</exception>
    public static MinisignKey Parse(string lineOrPath)
    {
        ArgumentNullException.ThrowIfNull(lineOrPath);
        string line = lineOrPath.Trim();
        if (File.Exists(lineOrPath))
        {
            try
            {
                line = File.ReadLines(lineOrPath).Select(text => text.Trim()).FirstOrDefault(text => text.Length > 0 && !text.StartsWith("untrusted comment:", StringComparison.Ordinal)) ?? "";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read the page key file '{lineOrPath}': {e.Message}", e);
            }
        }

        byte[] blob = new byte[BlobLength + 1];
        if (!Convert.TryFromBase64String(line, blob, out int length) || length != BlobLength || blob[0] != 'E' || blob[1] != 'd')
        {
            throw new UsageException($"'{lineOrPath}' is not a minisign public key (the base64 line of minisign.pub, or that file)");
        }

        return new MinisignKey(blob.AsMemory(2, 8), Import(blob.AsSpan(10, 32)));
    }

    /// <summary>The first call into NSec, which loads libsodium: a library that cannot be loaded is said here, once.</summary>
    /// <exception cref="MissingDependencyException">libsodium cannot be loaded.</exception>
    private static PublicKey Import(ReadOnlySpan<byte> key)
    {
        try
        {
            return PublicKey.Import(SignatureAlgorithm.Ed25519, key, KeyBlobFormat.RawPublicKey);
        }
        catch (PlatformNotSupportedException e)
        {
            // NSec wraps the loader's DllNotFoundException, whose first sentence names the library.
            string why = (e.InnerException ?? e).Message.Split(". ")[0].Split('\n')[0].TrimEnd('.');
            throw new MissingDependencyException(
                $"cannot load libsodium, which checks signatures under --page-key ({why}): the packages install it beside the program; a build of your own needs libsodium.so beside it or on the library path");
        }
    }
}

/// <summary>
/// Checks a page against its detached minisign signature (<c>PAGE.minisig</c>): the signature over
/// the page, by the key named, and the global signature over the signature and its trusted comment,
/// whose <c>timestamp:N</c> dates the page. Accepts minisign's default prehashed mode <c>ED</c>
/// (Ed25519 over the BLAKE2b-512 hash of the page) and the legacy <c>Ed</c> (over the page itself).
/// The cryptography is libsodium's, through NSec.
/// </summary>
public static partial class MinisignVerifier
{
    private const int SignatureBlobLength = 2 + 8 + 64;

    /// <summary>The page's signing time and trusted comment, once every check passed.</summary>
    /// <exception cref="PageRefusedException">The signature is malformed, by another key, does not match the page, or carries no timestamp.</exception>
    public static SignedPage Verify(MinisignKey key, ReadOnlySpan<byte> page, string signatureFile)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(signatureFile);
        string[] lines = signatureFile.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        const string TrustedPrefix = "trusted comment: ";
        if (lines.Length < 4 || !lines[0].StartsWith("untrusted comment:", StringComparison.Ordinal) || !lines[2].StartsWith(TrustedPrefix, StringComparison.Ordinal))
        {
            throw new PageRefusedException("the signature file is not in minisign's format");
        }

        byte[] blob = new byte[SignatureBlobLength + 1];
        byte[] global = new byte[65];
        if (!Convert.TryFromBase64String(lines[1].Trim(), blob, out int blobLength) || blobLength != SignatureBlobLength
            || !Convert.TryFromBase64String(lines[3].Trim(), global, out int globalLength) || globalLength != 64)
        {
            throw new PageRefusedException("the signature file is not in minisign's format");
        }

        bool prehashed = (blob[0], blob[1]) switch
        {
            ((byte)'E', (byte)'D') => true,
            ((byte)'E', (byte)'d') => false,
            _ => throw new PageRefusedException($"the signature's algorithm '{Encoding.ASCII.GetString(blob, 0, 2)}' is not minisign's Ed25519"),
        };
        if (!blob.AsSpan(2, 8).SequenceEqual(key.KeyId.Span))
        {
            throw new PageRefusedException(
                $"the signature is by another key (key id {KeyIdText(blob.AsSpan(2, 8))}, not {KeyIdText(key.KeyId.Span)} given with --page-key)");
        }

        ReadOnlySpan<byte> signature = blob.AsSpan(10, 64);
        byte[] signed = prehashed ? NSec.Cryptography.HashAlgorithm.Blake2b_512.Hash(page) : page.ToArray();
        if (!SignatureAlgorithm.Ed25519.Verify(key.Key, signed, signature))
        {
            throw new PageRefusedException("the signature does not match the page (altered, or signed by someone else)");
        }

        string trustedComment = lines[2][TrustedPrefix.Length..];
        byte[] comment = Encoding.UTF8.GetBytes(trustedComment);
        if (!SignatureAlgorithm.Ed25519.Verify(key.Key, [.. signature, .. comment], global.AsSpan(0, 64)))
        {
            throw new PageRefusedException("the signature's trusted comment was altered");
        }

        Match timestamp = TimestampField().Match(trustedComment);
        if (!timestamp.Success || !long.TryParse(timestamp.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
        {
            throw new PageRefusedException("the signature's trusted comment has no timestamp:N (minisign writes one by default; or sign with -t \"timestamp:$(date +%s)\")");
        }

        return new SignedPage(DateTimeOffset.FromUnixTimeSeconds(seconds), trustedComment);
    }

    private static string KeyIdText(ReadOnlySpan<byte> keyId)
    {
        // minisign shows the key id as the 8 bytes read as a little-endian number, in hex.
        Span<byte> reversed = stackalloc byte[8];
        keyId.CopyTo(reversed);
        reversed.Reverse();
        return Convert.ToHexString(reversed);
    }

    [GeneratedRegex(@"(?:^|\s)timestamp:(\d{1,12})(?:\s|$)")]
    private static partial Regex TimestampField();
}

/// <summary>A page whose signature checked out.</summary>
/// <param name="SignedAt">The trusted comment's timestamp: when its publisher signed it.</param>
public sealed record SignedPage(DateTimeOffset SignedAt, string TrustedComment);
