using Anon.Signing;
using Anon.Io;

namespace Anon.Signing.Tests;

/// <summary>
/// The page's minisign signature, checked against vectors made with Debian's minisign 0.11
/// (<c>minisign -G -W</c>, then <c>minisign -S</c>, <c>-S -l</c> for the legacy mode, <c>-t</c> for a
/// trusted comment of one's own) over tests/fixtures/LIGHTON_COMMAND.
/// </summary>
public class MinisignTests
{
    private const string PublicKey = "RWQIeRzawpuenql49Q3tgjEmAEuj2e6Q7yhqasZFJajbgrQdacUOBRpp";
    private const string OtherKey = "RWQBRDmYWunR324dNhao8rflTazYuMKvwS5m1sz13/OH85YJDbeU2ESF";

    private const string Prehashed = """
        untrusted comment: signature from minisign secret key
        RUQIeRzawpuenr/EZUMyKH8Y9gwXW0aNmEOtgswBa5Wq4gGS4GOXbMjoBab1xesBWv2f0BryJY54dhNqP9M7GCvANejc/SHYVQU=
        trusted comment: timestamp:1796132260	file:page	hashed
        bplKa1BzBtTazQHuNvhdSqULSHXgj2KLrDpdoWbSzKKgGh9E9qyYm2X/xdsEjbX99qteSSrFJ2p8bdcvSNtKDA==
        """;

    private const string Legacy = """
        untrusted comment: signature from minisign secret key
        RWQIeRzawpuensHd5gHK/EqsvgQkS/SgjA2e+sY4FFVFmJ8y+CVPgg/XvuWY+3YwecDiEdeNmHwaSQaWRgeVqn7XMKq7mNLIfA0=
        trusted comment: timestamp:1000
        t7YXn+widhkAB1DhBwE3q/vsauSA3awQiWiLBUVfYpmWMWSe+t6ZBEcs8WkC7MJ+sKpnsARBsc6w9T+8SoLhAQ==
        """;

    private const string NoTimestamp = """
        untrusted comment: signature from minisign secret key
        RUQIeRzawpuenr/EZUMyKH8Y9gwXW0aNmEOtgswBa5Wq4gGS4GOXbMjoBab1xesBWv2f0BryJY54dhNqP9M7GCvANejc/SHYVQU=
        trusted comment: signed by the lab
        SXjimUiN+5FPz7hskFaP9HA61y9/fHkoO0/0f/G1ZMc3/JRC2U2Q9qz1Z/eEolwBZYmV+y8a0hcr5nqPhJ3+AQ==
        """;

    private static readonly byte[] Page = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "LIGHTON_COMMAND"));

    [Fact]
    public void The_default_prehashed_signature_is_accepted_with_its_timestamp()
    {
        SignedPage signed = MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), Page, Prehashed);

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1796132260), signed.SignedAt);
        Assert.Equal("timestamp:1796132260\tfile:page\thashed", signed.TrustedComment);
    }

    [Fact]
    public void The_legacy_signature_over_the_page_itself_is_accepted_with_a_timestamp_of_its_own()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1000), MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), Page, Legacy).SignedAt);
    }

    [Theory]
    [InlineData(Prehashed)]
    [InlineData(Legacy)]
    public void A_page_changed_by_one_byte_is_refused(string signature)
    {
        byte[] tampered = [.. Page];
        tampered[^1] ^= 1;

        var refused = Assert.Throws<PageRefusedException>(() => MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), tampered, signature));
        Assert.Equal("the signature does not match the page (altered, or signed by someone else)", refused.Message);
    }

    [Fact]
    public void An_altered_trusted_comment_is_refused_so_a_timestamp_cannot_be_moved()
    {
        string moved = Prehashed.Replace("timestamp:1796132260", "timestamp:1896132260", StringComparison.Ordinal);

        var refused = Assert.Throws<PageRefusedException>(() => MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), Page, moved));
        Assert.Equal("the signature's trusted comment was altered", refused.Message);
    }

    [Fact]
    public void A_signature_by_another_key_is_refused_naming_both_key_ids()
    {
        var refused = Assert.Throws<PageRefusedException>(() => MinisignVerifier.Verify(MinisignKey.Parse(OtherKey), Page, Prehashed));

        Assert.Equal("the signature is by another key (key id 9E9E9BC2DA1C7908, not DFD1E95A98394401 given with --page-key)", refused.Message);
    }

    [Fact]
    public void A_signature_without_a_timestamp_is_refused()
    {
        var refused = Assert.Throws<PageRefusedException>(() => MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), Page, NoTimestamp));

        Assert.StartsWith("the signature's trusted comment has no timestamp:N", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a signature\nat all\n")]
    [InlineData("untrusted comment: x\nRUQ=\ntrusted comment: timestamp:1\nAAAA\n")]
    public void What_is_not_minisigns_format_is_refused(string signature)
    {
        var refused = Assert.Throws<PageRefusedException>(() => MinisignVerifier.Verify(MinisignKey.Parse(PublicKey), Page, signature));

        Assert.Equal("the signature file is not in minisign's format", refused.Message);
    }

    [Theory]
    [InlineData("RWQ")]
    [InlineData("not base64 at all")]
    [InlineData("/nonexistent/minisign.pub")]
    public void A_key_that_is_not_a_minisign_public_key_is_a_usage_error(string key)
    {
        Assert.Throws<UsageException>(() => MinisignKey.Parse(key));
    }

    [Fact]
    public void The_key_is_read_from_its_file_past_the_untrusted_comment()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $"untrusted comment: minisign public key 9E9E9BC2DA1C7908\n{PublicKey}\n");
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1000), MinisignVerifier.Verify(MinisignKey.Parse(file), Page, Legacy).SignedAt);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
