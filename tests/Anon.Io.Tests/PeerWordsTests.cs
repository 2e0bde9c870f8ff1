using Anon.Protocol;

namespace Anon.Io.Tests;

/// <summary>The words the programs use for what the core names.</summary>
public class PeerWordsTests
{
    public static TheoryData<ClientFailureKind, int, string> Failures => new()
    {
        { ClientFailureKind.NoAnswer, 0, "no answer from the gateway within 10 s" },
        { ClientFailureKind.NoData, 0, "the gateway answered the handshake but sent no data for 10 s" },
        { ClientFailureKind.Stalled, 512, "the transfer stalled: nothing from the gateway for 10 s after 512 bytes" },
        { ClientFailureKind.ContentTooLong, 512, "the gateway sent more than the maximum of 1000 bytes" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_failed_transfer_is_told_with_its_figures(ClientFailureKind kind, int received, string expected)
    {
        Assert.Equal(expected, PeerWords.Describe(new ClientFailure(kind, TimeSpan.FromSeconds(10), received, 1000)));
    }

    [Fact]
    public void Every_drop_reason_and_failure_has_words_of_its_own()
    {
        string[] reasons = [.. DropCounts.Reasons.Select(PeerWords.Describe)];
        string[] failures = [.. Enum.GetValues<ClientFailureKind>().Select(kind => PeerWords.Describe(new ClientFailure(kind, TimeSpan.FromSeconds(1), 0, 1)))];

        Assert.Equal(reasons.Length, reasons.Distinct().Count());
        Assert.Equal(failures.Length, failures.Distinct().Count());
    }
}
