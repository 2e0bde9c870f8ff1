using System.Xml.Linq;
using Anon.Protocol;

namespace Anon.Ladder.Tests;

public class LadderDiagramTests
{
    private static readonly string[] SpecSample = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "spec-sample-client.log"));

    [Fact]
    public void The_spec_sample_log_gives_the_spec_drawing_as_text()
    {
        LadderDiagram diagram = LadderDiagram.FromLog(SpecSample, LadderSide.Client);

        Assert.Equal([0, 0, 0, 512, 0, 512, 0, 512, 0, 5, 0], diagram.Arrows.Select(arrow => arrow.PayloadLength));
        Assert.All(diagram.Arrows, arrow => Assert.Empty(arrow.Note));
        Golden.Matches("spec-sample.txt", TextLadder.Render(diagram));
    }

    [Fact]
    public void The_spec_sample_log_gives_the_spec_drawing_as_svg()
    {
        string svg = SvgLadder.Render(LadderDiagram.FromLog(SpecSample, LadderSide.Client));

        XNamespace ns = "http://www.w3.org/2000/svg";
        XElement root = XDocument.Parse(svg).Root!;
        Assert.Equal(11, root.Elements(ns + "line").Count(line => line.Attribute("marker-end") is not null));
        Golden.Matches("spec-sample.svg", svg);
    }

    [Fact]
    public void Both_logs_of_a_lossy_transfer_show_each_loss_and_retransmission()
    {
        LadderDiagram diagram = LadderDiagram.FromLogs(Golden.InputLines("lossy-client.log"), Golden.InputLines("lossy-gateway.log"));

        // The other client's handshake in the gateway log (ISN 777) is not part of this transfer.
        Assert.DoesNotContain(diagram.Arrows, arrow => arrow.Header.Sequence.Value is 777 or 5000);
        Assert.Equal(14, diagram.Arrows.Count);
        Assert.Equal(["ACK seq=613 ack=12348 len=512", "ACK seq=12349 ack=1637"], diagram.Arrows.Where(arrow => arrow.Lost).Select(arrow => arrow.Label));
        Assert.Equal(
            ["ACK seq=613 ack=12348 len=512", "ACK seq=1125 ack=12349 len=512", "ACK seq=12349 ack=1637"],
            diagram.Arrows.Where(arrow => arrow.Retransmission).Select(arrow => arrow.Label));
        Assert.Equal(["ACK seq=1125 ack=12349 len=512"], diagram.Arrows.Where(arrow => arrow.Duplicate).Select(arrow => arrow.Label));
        Assert.Contains("1541 bytes of page delivered", diagram.Summary, StringComparison.Ordinal);
        Golden.Matches("lossy.txt", TextLadder.Render(diagram));
        Golden.Matches("lossy.svg", SvgLadder.Render(diagram));
    }

    [Fact]
    public void A_gateway_log_of_overlapping_connections_gives_one_transfer_each()
    {
        IReadOnlyList<LadderDiagram> transfers = LadderDiagram.TransfersFromLog(Golden.InputLines("lossy-gateway.log"), LadderSide.Gateway);

        Assert.Equal(2, transfers.Count);
        Assert.StartsWith("13 datagrams: 6 from the client, 7 from the gateway;", transfers[0].Summary, StringComparison.Ordinal);
        Assert.Equal(2, transfers[0].Arrows.Count(arrow => arrow.Retransmission));
        Assert.Equal(["SYN seq=777 ack=0", "ACK|SYN seq=5000 ack=778"], transfers[1].Arrows.Select(arrow => arrow.Label));
    }

    [Fact]
    public void A_client_log_of_several_fetches_gives_one_transfer_each_and_a_retransmitted_syn_stays_in_its_own()
    {
        string[] log =
        [
            "SEND 10 0 SYN", "SEND 10 0 SYN", "RECV 500 11 ACK SYN", "SEND 11 501 ACK", "RECV 501 12 ACK FIN", "SEND 12 502 ACK FIN",
            "2026-11-25T12:00:10.000Z received 0 bytes",
            "SEND 90000000 0 SYN", "RECV 7000 90000001 ACK SYN", "SEND 90000001 7001 ACK", "RECV 7001 90000002 ACK FIN", "SEND 90000002 7002 ACK FIN",
        ];

        IReadOnlyList<LadderDiagram> transfers = LadderDiagram.TransfersFromLog(log, LadderSide.Client);

        Assert.Equal([6, 5], transfers.Select(transfer => transfer.Arrows.Count));
        Assert.True(transfers[0].Arrows[1].Retransmission);
        Assert.All(transfers[1].Arrows, arrow => Assert.True(arrow.Header.Sequence.Value >= 7000));
    }

    [Fact]
    public void Both_logs_of_several_fetches_give_one_merged_transfer_each_and_a_loss_in_the_second_is_shown()
    {
        string[] client =
        [
            "SEND 10 0 SYN", "RECV 500 11 ACK SYN", "SEND 11 501 ACK", "RECV 501 12 ACK FIN", "SEND 12 502 ACK FIN",
            "SEND 90000000 0 SYN", "RECV 7000 90000001 ACK SYN", "SEND 90000001 7001 ACK", "RECV 7001 90000002 ACK FIN", "SEND 90000002 7002 ACK FIN",
        ];
        string[] gateway =
        [
            "RECV 10 0 SYN", "SEND 500 11 ACK SYN", "RECV 11 501 ACK", "SEND 501 12 ACK FIN", "RECV 12 502 ACK FIN",
            "RECV 777 0 SYN", "SEND 5000 778 ACK SYN", // another client's handshake
            "RECV 90000000 0 SYN", "SEND 7000 90000001 ACK SYN", "RECV 90000001 7001 ACK", "SEND 7001 90000002 ACK FIN", "SEND 7001 90000002 ACK FIN", "RECV 90000002 7002 ACK FIN",
        ];

        IReadOnlyList<LadderDiagram> transfers = LadderDiagram.TransfersFromLogs(client, gateway);

        Assert.Equal([5, 6], transfers.Select(transfer => transfer.Arrows.Count));
        Assert.DoesNotContain(transfers[0].Arrows, arrow => arrow.Lost);
        Assert.Equal([7001u], transfers[1].Arrows.Where(arrow => arrow.Lost).Select(arrow => arrow.Header.Sequence.Value));
        Assert.DoesNotContain(transfers.SelectMany(transfer => transfer.Arrows), arrow => arrow.Header.Sequence.Value is 777 or 5000);
    }

    [Fact]
    public void Fetches_that_reuse_one_isn_are_told_apart_by_the_fin_between_them()
    {
        string[] fetch = ["SEND 10 0 SYN", "RECV 500 11 ACK SYN", "SEND 11 501 ACK", "RECV 501 12 ACK FIN", "SEND 12 502 ACK FIN"];
        string[] gateway =
        [
            "RECV 10 0 SYN", "SEND 500 11 ACK SYN", "RECV 11 501 ACK", "SEND 501 12 ACK FIN", "RECV 12 502 ACK FIN",
            "RECV 10 0 SYN", "SEND 500 11 ACK SYN", "SEND 500 11 ACK SYN", "RECV 11 501 ACK", "SEND 501 12 ACK FIN", "RECV 12 502 ACK FIN",
        ];

        IReadOnlyList<LadderDiagram> oneSide = LadderDiagram.TransfersFromLog([.. fetch, .. fetch], LadderSide.Client);
        IReadOnlyList<LadderDiagram> merged = LadderDiagram.TransfersFromLogs([.. fetch, .. fetch], gateway);

        Assert.Equal([5, 5], oneSide.Select(transfer => transfer.Arrows.Count));
        Assert.Equal([5, 6], merged.Select(transfer => transfer.Arrows.Count));
        Assert.Equal(["ACK|SYN seq=500 ack=11"], merged[1].Arrows.Where(arrow => arrow.Lost).Select(arrow => arrow.Label));
    }

    [Fact]
    public void A_fetch_the_gateway_log_does_not_hold_is_drawn_from_the_client_log_without_losses()
    {
        string[] client = ["SEND 10 0 SYN", "RECV 500 11 ACK SYN", "SEND 11 501 ACK", "RECV 501 12 ACK FIN", "SEND 12 502 ACK FIN"];

        string[] otherClient = ["RECV 777 0 SYN", "SEND 5000 778 ACK SYN"];

        LadderDiagram only = Assert.Single(LadderDiagram.TransfersFromLogs(client, otherClient));
        LadderDiagram single = LadderDiagram.FromLogs(client, otherClient);

        Assert.Equal(5, only.Arrows.Count);
        Assert.DoesNotContain(only.Arrows, arrow => arrow.Lost);
        Assert.Equal(5, single.Arrows.Count);
        Assert.DoesNotContain(single.Arrows, arrow => arrow.Lost);
    }

    [Fact]
    public void Lines_of_a_connection_whose_syn_the_log_lacks_are_a_transfer_of_their_own()
    {
        string[] log = ["RECV 12346 101 ACK", "SEND 101 12347 ACK", "RECV 777 0 SYN", "SEND 5000 778 ACK SYN"];

        IReadOnlyList<LadderDiagram> transfers = LadderDiagram.TransfersFromLog(log, LadderSide.Gateway);

        Assert.Equal([2, 2], transfers.Select(transfer => transfer.Arrows.Count));
    }

    [Fact]
    public void One_log_marks_what_its_side_sent_twice_and_received_twice_but_claims_no_loss()
    {
        LadderDiagram gatewaySide = LadderDiagram.FromLog(Golden.InputLines("lossy-gateway.log"), LadderSide.Gateway);
        LadderDiagram clientSide = LadderDiagram.FromLog(Golden.InputLines("lossy-client.log"), LadderSide.Client);

        Assert.DoesNotContain(gatewaySide.Arrows, arrow => arrow.Lost);
        Assert.Equal(2, gatewaySide.Arrows.Count(arrow => arrow.Retransmission && arrow.From == LadderSide.Gateway));
        Assert.DoesNotContain(gatewaySide.Arrows, arrow => arrow.Duplicate);
        Assert.Equal(["ACK seq=12349 ack=1637"], clientSide.Arrows.Where(arrow => arrow.Retransmission).Select(arrow => arrow.Label));
        Assert.Equal(["ACK seq=1125 ack=12349 len=512"], clientSide.Arrows.Where(arrow => arrow.Duplicate).Select(arrow => arrow.Label));
    }

    [Fact]
    public void A_recorded_transfer_shows_times_and_exact_lengths()
    {
        var recorder = new LadderRecorder(LadderSide.Client);
        TimeSpan start = TimeSpan.FromSeconds(100);
        (PacketDirection Direction, string Line, int Payload, double Ms)[] datagrams =
        [
            (PacketDirection.Send, "12345 0 SYN", 0, 0),
            (PacketDirection.Receive, "100 12346 ACK SYN", 0, 0.21),
            (PacketDirection.Send, "12346 101 ACK", 0, 0.25),
            (PacketDirection.Receive, "101 12347 ACK FIN", 300, 0.48),
            (PacketDirection.Send, "12347 401 ACK FIN", 0, 0.5),
        ];
        foreach ((PacketDirection direction, string line, int payload, double ms) in datagrams)
        {
            recorder.Record(direction, Datagram(line, payload), start + TimeSpan.FromMilliseconds(ms));
        }

        recorder.Record(PacketDirection.Receive, new byte[5], start + TimeSpan.FromMilliseconds(1)); // a runt: not drawn

        LadderDiagram diagram = recorder.ToDiagram();
        Assert.Equal([0, 0, 0, 300, 0], diagram.Arrows.Select(arrow => arrow.PayloadLength));
        Golden.Matches("recorded.txt", TextLadder.Render(diagram));
    }

    [Fact]
    public void Logs_that_contradict_each_other_still_draw_each_datagram_once()
    {
        // The client's log has the SYN|ACK arrive before its own SYN left: no order fits both logs.
        string[] client = ["RECV 100 12346 ACK SYN", "SEND 12345 0 SYN"];
        string[] gateway = ["RECV 12345 0 SYN", "SEND 100 12346 ACK SYN"];

        LadderDiagram diagram = LadderDiagram.FromLogs(client, gateway);

        Assert.Equal(["ACK|SYN seq=100 ack=12346", "SYN seq=12345 ack=0"], diagram.Arrows.Select(arrow => arrow.Label));
        Assert.DoesNotContain(diagram.Arrows, arrow => arrow.Lost);
    }

    [Fact]
    public void An_empty_page_is_one_fin_without_payload()
    {
        string[] log = ["SEND 1 0 SYN", "RECV 9 2 ACK SYN", "SEND 2 10 ACK", "RECV 10 3 ACK FIN", "SEND 3 10 ACK FIN"];

        LadderDiagram diagram = LadderDiagram.FromLog(log, LadderSide.Client);

        Assert.Equal(0, diagram.Arrows[3].PayloadLength);
    }

    [Fact]
    public void A_segment_nothing_answered_has_an_unknown_length()
    {
        string[] log = ["RECV 1 0 SYN", "SEND 9 2 ACK SYN", "RECV 2 10 ACK", "SEND 10 3 ACK"];

        LadderDiagram diagram = LadderDiagram.FromLog(log, LadderSide.Gateway);

        Assert.Null(diagram.Arrows[3].PayloadLength);
        Assert.Equal("ACK seq=10 ack=3 len=?", diagram.Arrows[3].Label);
    }

    private static byte[] Datagram(string header, int payloadLength)
    {
        Assert.True(PacketLogLine.TryParse("SEND " + header, out _, out SegmentHeader parsed));
        byte[] datagram = new byte[SegmentHeader.Size + payloadLength];
        parsed.WriteTo(datagram);
        return datagram;
    }
}
