using Anon.Client.Delivery;
using Anon.Io;

namespace Anon.Client.Tests;

public sealed class OutputFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anon-out-").FullName;

    [Fact]
    public void A_missing_folder_is_named_and_the_hidden_temporary_file_is_not()
    {
        var failure = Assert.Throws<FileWriteException>(() => OutputFile.Create("/nonexistent-dir/out.txt"));

        Assert.Equal("cannot write the output file '/nonexistent-dir/out.txt': the folder '/nonexistent-dir' does not exist", failure.Message);
    }

    [Fact]
    public void The_page_appears_whole_at_commit_and_nothing_else_is_left()
    {
        string path = Path.Combine(_directory, "out.txt");
        using (OutputFile output = OutputFile.Create(path))
        {
            Assert.False(File.Exists(path));
            output.Commit("COMMAND=LIGHTON\n"u8);
        }

        Assert.Equal("COMMAND=LIGHTON\n", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
