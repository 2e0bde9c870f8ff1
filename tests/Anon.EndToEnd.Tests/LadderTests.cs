using System.Xml.Linq;
using Anon.Lab;
using Anon.Ladder;

namespace Anon.EndToEnd.Tests;

/// <summary>Ladder diagrams of real transfers: the client's --diagram, and anon-lab ladder --live through the lossy relay.</summary>
public sealed class LadderTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_client_draws_one_timed_arrow_per_logged_datagram_as_text()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));

        ProcessResult client = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt"), "--diagram", _scratch.PathOf("ladder.txt")));

        Assert.Equal(0, client.ExitCode);
        string[] logged = Expect.PacketLines(_scratch.PathOf("client.log"));
        string[] lines = File.ReadAllLines(_scratch.PathOf("ladder.txt"));
        string[] arrows = lines[1..^2];
        Assert.Equal(logged.Length, arrows.Length);
        for (int i = 0; i < logged.Length; i++)
        {
            string[] words = logged[i].Split(' ');
            Assert.Contains($"seq={words[1]} ack={words[2]}", arrows[i], StringComparison.Ordinal);
            Assert.Contains(words[0] == "SEND" ? "->|" : "|<-", arrows[i], StringComparison.Ordinal);
        }

        Assert.StartsWith("    0.000 |", arrows[0], StringComparison.Ordinal);
        Assert.Contains("13112 bytes of page delivered", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_diagram_on_standard_output_the_status_lines_go_to_standard_error()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));

        ProcessResult client = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt"), "--diagram", "-"));

        Assert.Equal(0, client.ExitCode);
        Assert.DoesNotContain("anonclient:", client.Output, StringComparison.Ordinal);
        Assert.Contains("13112 bytes of page delivered", client.Output, StringComparison.Ordinal);
        Assert.Contains("anonclient: received 13112 bytes", client.Error, StringComparison.Ordinal);
        Assert.Contains("anonclient: LED is ON (simulated)", client.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_draws_svg_for_a_file_named_svg()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOff, _scratch.PathOf("gateway.log"));

        ProcessResult client = await Programs.RunClientAsync(
            Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt"), "--diagram", _scratch.PathOf("ladder.svg")));

        Assert.Equal(0, client.ExitCode);
        XNamespace svg = "http://www.w3.org/2000/svg";
        XElement root = XDocument.Load(_scratch.PathOf("ladder.svg")).Root!;
        Assert.Equal(Expect.PacketLines(_scratch.PathOf("client.log")).Length, root.Elements(svg + "line").Count(line => line.Attribute("marker-end") is not null));
    }

    [Fact]
    public async Task A_live_ladder_through_the_lossy_relay_marks_every_dropped_datagram_lost()
    {
        LiveLadder run = await LadderCommand.RunLiveAsync(pageBytes: 1541, loss: 0.3, seed: 3);

        Assert.Equal(0, run.ClientExitCode);
        Assert.True(run.Dropped > 0, "seed 3 drops datagrams at 30 % loss");
        Assert.Equal(run.Dropped, run.Diagram.Arrows.Count(arrow => arrow.Lost));
        Assert.Contains(run.Diagram.Arrows, arrow => arrow.Retransmission);
        Assert.Contains("1541 bytes of page delivered", run.Diagram.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anon_lab_ladder_says_in_one_line_when_its_log_is_missing_or_no_log()
    {
        string lab = Path.Combine(Path.GetDirectoryName(typeof(Programs).Assembly.Location)!, "anon-lab");
        await File.WriteAllTextAsync(_scratch.PathOf("notes.txt"), "hello\nworld\n");

        ProcessResult missing = await Programs.RunAsync(lab, ["ladder", _scratch.PathOf("nowhere.log")], TimeSpan.FromSeconds(60));
        ProcessResult notALog = await Programs.RunAsync(lab, ["ladder", _scratch.PathOf("notes.txt")], TimeSpan.FromSeconds(60));

        Assert.Equal((66, 65), (missing.ExitCode, notALog.ExitCode));
        Assert.StartsWith($"anon-lab ladder: cannot read the log '{_scratch.PathOf("nowhere.log")}'", missing.Error, StringComparison.Ordinal);
        Assert.Contains("has no packet lines (RECV/SEND)", notALog.Error, StringComparison.Ordinal);
        Assert.All(new[] { missing, notALog }, result => Assert.Single(result.Error.Trim().Split('\n')));
        Assert.All(new[] { missing, notALog }, Expect.NoStackTrace);
    }

    [Fact]
    public async Task Anon_lab_ladder_draws_each_transfer_of_a_gateway_log_apart()
    {
        string lab = Path.Combine(Path.GetDirectoryName(typeof(Programs).Assembly.Location)!, "anon-lab");
        await using (GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log")))
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(0, (await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt")))).ExitCode);
            }

            Assert.Equal(0, (await gateway.StopAsync()).ExitCode); // its log is then whole
        }

        ProcessResult all = await Programs.RunAsync(lab, ["ladder", "--side", "gateway", _scratch.PathOf("gateway.log")], TimeSpan.FromSeconds(60));
        ProcessResult second = await Programs.RunAsync(lab, ["ladder", "--side", "gateway", "--transfer", "2", _scratch.PathOf("gateway.log")], TimeSpan.FromSeconds(60));

        Assert.Equal((0, 0), (all.ExitCode, second.ExitCode));
        Assert.Equal(["transfer 1 of 3", "transfer 2 of 3", "transfer 3 of 3"], all.Output.Split('\n').Where(line => line.StartsWith("transfer ", StringComparison.Ordinal)));
        Assert.Equal(3, all.Output.Split('\n').Count(line => line.Contains("13112 bytes of page delivered", StringComparison.Ordinal)));
        Assert.Single(second.Output.Split('\n'), line => line.Contains("SYN seq=", StringComparison.Ordinal) && !line.Contains("ACK", StringComparison.Ordinal));
    }

    public void Dispose() => _scratch.Dispose();
}
