using Anon.Io;

namespace Anon.Cli.Tests;

public class ExitCodesTests
{
    // The numbers of README "Exit codes", written out: a renumbering must fail here.
    public static TheoryData<OperationFailedException, int> Failures => new()
    {
        { new UsageException("--timeout must be more than 0 seconds"), 64 },
        { new UnknownCommandException("cannot parse the command"), 65 },
        { new UnknownHostException("cannot resolve the gateway's name"), 68 },
        { new ListenFailedException("UDP port 9000 is already in use"), 69 },
        { new DownloadFailedException("cannot download the page"), 69 },
        { new TransferFailedException("no answer from the gateway within 10 s", null), 69 },
        { new MissingDependencyException("anonGateway is not built"), 69 },
        { new LedFailedException("cannot drive the LED on GPIO pin 17"), 71 },
        { new FileWriteException("cannot write the log file"), 73 },
        { new PageRefusedException("the signature does not match the page"), 76 },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Each_kind_of_failure_has_its_documented_exit_code(OperationFailedException failure, int expected)
    {
        Assert.Equal(expected, ExitCodes.For(failure));
    }

    [Fact]
    public void Every_kind_of_failure_is_mapped()
    {
        Type[] kinds = [.. typeof(OperationFailedException).Assembly.GetTypes().Where(type => type.IsSubclassOf(typeof(OperationFailedException)))];
        Type[] tested = [.. Failures.Select(row => ((object[])row)[0].GetType()).Distinct()];

        Assert.Equal(kinds.OrderBy(type => type.Name), tested.OrderBy(type => type.Name));
    }
}
