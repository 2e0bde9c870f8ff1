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

    [Fact]
    public void A_file_that_holds_the_content_already_is_not_written_again()
    {
        string path = Path.Combine(_directory, "out.txt");
        File.WriteAllText(path, "COMMAND=LIGHTON\n");
        var written = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, written);

        using (OutputFile output = OutputFile.Create(path))
        {
            Assert.False(output.Commit("COMMAND=LIGHTON\n"u8));
        }

        Assert.Equal(written, File.GetLastWriteTimeUtc(path)); // a rename would have brought a new file
        Assert.Equal([path], Directory.GetFiles(_directory)); // the temporary file is gone
    }

    [Theory]
    [InlineData("COMMAND=LIGHTOFF")] // other bytes, the same length
    [InlineData("COMMAND=LIGHTON\n\n")] // the same bytes and one more
    [InlineData("COMMAND=LIGHT")] // the first bytes only
    public void A_file_that_holds_other_content_is_replaced(string before)
    {
        string path = Path.Combine(_directory, "out.txt");
        File.WriteAllText(path, before);

        using (OutputFile output = OutputFile.Create(path))
        {
            Assert.True(output.Commit("COMMAND=LIGHTON\n"u8));
        }

        Assert.Equal("COMMAND=LIGHTON\n", File.ReadAllText(path));
    }

    [Fact]
    public void A_link_is_replaced_by_the_file_even_when_it_leads_to_the_same_content()
    {
        string path = Path.Combine(_directory, "out.txt"), elsewhere = Path.Combine(_directory, "elsewhere.txt");
        File.WriteAllText(elsewhere, "COMMAND=LIGHTON\n");
        File.CreateSymbolicLink(path, elsewhere);

        using (OutputFile output = OutputFile.Create(path))
        {
            Assert.True(output.Commit("COMMAND=LIGHTON\n"u8));
        }

        Assert.Null(new FileInfo(path).LinkTarget); // as before this shortcut: the link is replaced, not followed
        Assert.Equal("COMMAND=LIGHTON\n", File.ReadAllText(path));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
