using System.Text;

namespace Anon.Commands.Tests;

public class CommandPageTests
{
    [Theory]
    [InlineData("COMMAND=LIGHTON\n\n<html>", LightCommand.LightOn)]
    [InlineData("COMMAND=LIGHTOFF\r\nrest", LightCommand.LightOff)]
    [InlineData("  command=lighton  ", LightCommand.LightOn)]
    [InlineData("LIGHTOFF", LightCommand.LightOff)]
    [InlineData("LightOn\n", LightCommand.LightOn)]
    public void Reads_the_command_from_the_first_line(string page, LightCommand expected)
    {
        Assert.True(CommandPage.TryParse(Encoding.UTF8.GetBytes(page), out LightCommand command));
        Assert.Equal(expected, command);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\nCOMMAND=LIGHTON")]
    [InlineData("COMMAND=LIGHTBLINK")]
    [InlineData("COMMAND=LIGHTON; rm -rf /")]
    [InlineData("COMMAND=")]
    [InlineData("COMMANDLIGHTON")]
    public void Anything_else_is_not_a_command(string page)
    {
        Assert.False(CommandPage.TryParse(Encoding.UTF8.GetBytes(page), out _));
    }

    [Fact]
    public void Describes_a_long_or_binary_first_line_safely()
    {
        byte[] page = [.. Encoding.UTF8.GetBytes(new string('A', 100)), 0x07, (byte)'\n', (byte)'x'];
        string described = CommandPage.DescribeFirstLine(page);

        Assert.Equal(new string('A', 80) + "...", described);
        Assert.Equal("bell?", CommandPage.DescribeFirstLine("bell\a\nnext"u8));
    }

    [Fact]
    public void A_command_is_written_back_as_its_page_line()
    {
        Assert.Equal("COMMAND=LIGHTON", LightCommand.LightOn.ToPageText());
        Assert.Equal("COMMAND=LIGHTOFF", LightCommand.LightOff.ToPageText());
    }
}
