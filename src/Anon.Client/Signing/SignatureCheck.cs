using System.Globalization;
using System.Text;
using Anon.Client.Delivery;
using Anon.Io;
using Anon.Signing;

namespace Anon.Client.Signing;

/// <summary>
/// The device's own check of the page (<c>--page-key</c>): its publisher's minisign signature over
/// it, and never a page signed before the last one this device accepted, whose time is kept in the
/// state directory (written whole: a power cut leaves the old time or the new one, never half).
/// </summary>
/// <remarks>
/// A damaged state file refuses every page until an operator removes it: whatever damaged it could
/// otherwise wipe the rollback baseline, and a file written whole is not damaged by a power cut.
/// </remarks>
internal sealed class SignatureCheck(MinisignKey key, string stateDirectory)
{
    private const string StateFileName = "last-accepted-signature";

    /// <summary>Where the time of the last page accepted is kept.</summary>
    public string StatePath { get; } = Path.Combine(stateDirectory, StateFileName);

    /// <summary>The page's signature checked, by the key, and against the last page accepted.</summary>
    /// <exception cref="PageRefusedException">Another key, a changed page, a signature of another page, no timestamp, a rollback, a damaged state file.</exception>
    public SignedPage Check(ReadOnlySpan<byte> page, ReadOnlySpan<byte> signatureFile)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(signatureFile);
        }
        catch (DecoderFallbackException)
        {
            throw new PageRefusedException("the signature file is not in minisign's format");
        }

        SignedPage signed = MinisignVerifier.Verify(key, page, text);
        if (LastAccepted() is { } last && signed.SignedAt < last)
        {
            throw new PageRefusedException(
                $"the page was signed at {Utc(signed.SignedAt)}, before the page this device accepted last (signed at {Utc(last)}): a rollback or a replay");
        }

        return signed;
    }

    /// <summary>Keeps the page's signing time as the one accepted last; makes the state directory when it is not there.</summary>
    /// <exception cref="FileWriteException">The state directory cannot be made or written.</exception>
    public void Accept(SignedPage signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        try
        {
            Directory.CreateDirectory(stateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw FileWriteException.Creating("the state directory", stateDirectory, e);
        }

        using OutputFile state = OutputFile.Create(StatePath, "the state file");
        state.Commit(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"timestamp:{signed.SignedAt.ToUnixTimeSeconds()}\n")));
    }

    /// <exception cref="PageRefusedException">The state file is there but damaged.</exception>
    private DateTimeOffset? LastAccepted()
    {
        string text;
        try
        {
            text = File.ReadAllText(StatePath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // no page accepted yet: the first one sets the baseline
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Damaged(e.Message);
        }

        return text.StartsWith("timestamp:", StringComparison.Ordinal) && text.EndsWith('\n')
            && long.TryParse(text.AsSpan("timestamp:".Length, text.Length - "timestamp:".Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
            && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw Damaged("it does not hold timestamp:N");
    }

    private PageRefusedException Damaged(string why) => new(
        $"the state file {StatePath} is damaged ({why}), so no page can be checked against the last one accepted: " +
        "remove it to start again without that check for the next page");

    private static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
