using Anon.Lab.Conformance;
using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// The network faults the suite's peers and the lossy relay share: what each datagram of a
/// connection is (<see cref="ConnectionClassifier"/>), and what a plan of faults does to it
/// (<see cref="FaultyConnection"/>). No sockets: datagrams built here, in a transfer's order.
/// </summary>
public sealed class FaultTests
{
    private const uint ClientIsn = 1000;
    private const uint GatewayIsn = 5000;

    private static readonly byte[] Syn = Datagram.Build(ClientIsn, 0, SegmentFlags.Syn);
    private static readonly byte[] SynAck = Datagram.Build(GatewayIsn, ClientIsn + 1, SegmentFlags.Syn | SegmentFlags.Ack);
    private static readonly byte[] HandshakeAck = Datagram.Build(ClientIsn + 1, GatewayIsn + 1, SegmentFlags.Ack);

    [Fact]
    public void Each_datagram_of_a_transfer_is_told_by_way_kind_segment_and_copy()
    {
        var classifier = new ConnectionClassifier();
        (Way, byte[])[] transfer =
        [
            (Way.ToGateway, Syn),
            (Way.ToGateway, Syn),
            (Way.ToClient, SynAck),
            (Way.ToGateway, HandshakeAck),
            (Way.ToClient, Segment(0, 512)),
            (Way.ToGateway, AckOf(0, 512)),
            (Way.ToClient, Segment(512, 100, fin: true)),
            (Way.ToClient, Segment(512, 100, fin: true)),
            (Way.ToGateway, AckOf(512, 100)),
            (Way.ToGateway, Datagram.Build(ClientIsn + 3, GatewayIsn + 613, SegmentFlags.Ack | SegmentFlags.Fin)),
            (Way.ToGateway, Datagram.Build(ClientIsn + 1, 42, SegmentFlags.Ack)),
        ];

        DatagramClass[] classes = [.. transfer.Select(datagram => classifier.Classify(datagram.Item1, datagram.Item2))];

        Assert.Equal(
            [
                new DatagramClass(Way.ToGateway, DatagramKind.Syn, -1, 1),
                new DatagramClass(Way.ToGateway, DatagramKind.Syn, -1, 2),
                new DatagramClass(Way.ToClient, DatagramKind.SynAck, -1, 1),
                new DatagramClass(Way.ToGateway, DatagramKind.HandshakeAck, -1, 1),
                new DatagramClass(Way.ToClient, DatagramKind.Segment, 0, 1),
                new DatagramClass(Way.ToGateway, DatagramKind.AckOfSegment, 0, 1),
                new DatagramClass(Way.ToClient, DatagramKind.Segment, 1, 1),
                new DatagramClass(Way.ToClient, DatagramKind.Segment, 1, 2),
                new DatagramClass(Way.ToGateway, DatagramKind.AckOfSegment, 1, 1),
                new DatagramClass(Way.ToGateway, DatagramKind.FinAck, 1, 1),
                new DatagramClass(Way.ToGateway, DatagramKind.Other, -1, 1),
            ],
            classes);
    }

    [Fact]
    public void A_segment_sent_ahead_of_its_turn_keeps_its_number_and_an_empty_fin_after_the_data_gets_the_next()
    {
        var classifier = new ConnectionClassifier();
        classifier.Classify(Way.ToGateway, Syn);
        classifier.Classify(Way.ToClient, SynAck);

        Assert.Equal(0, classifier.Classify(Way.ToClient, Segment(0, 512)).Segment);
        Assert.Equal(2, classifier.Classify(Way.ToClient, Segment(1024, 512)).Segment);
        Assert.Equal(1, classifier.Classify(Way.ToClient, Segment(512, 512)).Segment);
        Assert.Equal(3, classifier.Classify(Way.ToClient, Segment(1536, 10)).Segment);
        Assert.Equal(4, classifier.Classify(Way.ToClient, Segment(1546, 0, fin: true)).Segment);
    }

    [Fact]
    public void A_syn_with_a_new_isn_starts_the_counting_over()
    {
        var classifier = new ConnectionClassifier();
        classifier.Classify(Way.ToGateway, Syn);
        classifier.Classify(Way.ToClient, SynAck);
        classifier.Classify(Way.ToClient, Segment(0, 512));

        Assert.Equal(1, classifier.Classify(Way.ToGateway, Datagram.Build(ClientIsn + 77, 0, SegmentFlags.Syn)).Copy);
        Assert.Equal(DatagramKind.Other, classifier.Classify(Way.ToGateway, HandshakeAck).Kind); // no SYN|ACK of the new ISN yet
    }

    [Fact]
    public void Lose_drops_the_first_copies_of_its_datagram_only()
    {
        var network = new FaultyConnection(new FaultPlan([new Lose(Way.ToGateway, DatagramKind.Syn, Copies: 2)]));
        var arrived = new List<byte[]>();

        bool[] lost = [.. Enumerable.Range(0, 3).Select(_ => network.Pass(Way.ToGateway, Syn, arrived.Add).Lost)];
        network.Pass(Way.ToClient, SynAck, arrived.Add);

        Assert.Equal([true, true, false], lost);
        Assert.Equal([Syn, SynAck], arrived);
    }

    [Fact]
    public void Duplicate_delivers_copies_and_duplicate_late_delivers_a_stale_copy_after_the_next()
    {
        var network = new FaultyConnection(new FaultPlan(
        [
            new Duplicate(Way.ToClient, DatagramKind.SynAck, Copies: 3),
            new DuplicateLate(Way.ToGateway, DatagramKind.HandshakeAck),
            new DuplicateLate(Way.ToGateway, DatagramKind.AckOfSegment),
        ]));
        var arrived = new List<byte[]>();
        byte[] ack0 = AckOf(0, 512);
        byte[] ack1 = AckOf(512, 512);

        network.Pass(Way.ToGateway, Syn, arrived.Add);
        network.Pass(Way.ToClient, SynAck, arrived.Add);
        network.Pass(Way.ToGateway, HandshakeAck, arrived.Add);
        network.Pass(Way.ToClient, Segment(0, 512), _ => { });
        network.Pass(Way.ToGateway, ack0, arrived.Add);
        network.Pass(Way.ToClient, Segment(512, 512), _ => { });
        network.Pass(Way.ToGateway, ack1, arrived.Add);

        Assert.Equal([Syn, SynAck, SynAck, SynAck, HandshakeAck, ack0, HandshakeAck, ack1, ack0], arrived);
    }

    [Fact]
    public void The_first_fault_that_concerns_a_datagram_decides()
    {
        var plan = new FaultPlan([new Lose(Way.ToClient, DatagramKind.Segment, Segment: 1), new Duplicate(Way.ToClient, DatagramKind.Segment)]);

        Assert.Equal(Delivery.Lost, plan.Decide(new DatagramClass(Way.ToClient, DatagramKind.Segment, 1, 1)));
        Assert.Equal(new Delivery(2), plan.Decide(new DatagramClass(Way.ToClient, DatagramKind.Segment, 1, 2)));
        Assert.Equal(new Delivery(2), plan.Decide(new DatagramClass(Way.ToClient, DatagramKind.Segment, 0, 1)));
        Assert.Equal(Delivery.Passed, plan.Decide(new DatagramClass(Way.ToGateway, DatagramKind.AckOfSegment, 0, 1)));
    }

    [Fact]
    public void Faults_that_change_bytes_change_them_on_the_way_all_of_them_in_order_and_the_datagram_is_still_told_as_sent()
    {
        var network = new FaultyConnection(new FaultPlan(
        [
            new SetReservedBits(Way.ToClient, 0x100),
            new ChangeAckField(Way.ToClient, DatagramKind.SynAck, ack => ack - 1),
            new PadPayload(Way.ToClient, DatagramKind.SynAck, 3),
            new FlipPayloadByte(Way.ToClient, Segment: 0, Offset: 1, Bits: 0x20),
        ]));
        var arrived = new List<byte[]>();
        byte[] first = Segment(0, 512);
        byte[] second = Segment(512, 512);

        network.Pass(Way.ToGateway, Syn, arrived.Add);
        DatagramClass synAck = network.Pass(Way.ToClient, SynAck, arrived.Add).Class;
        network.Pass(Way.ToClient, first, arrived.Add);
        network.Pass(Way.ToClient, second, arrived.Add);

        Assert.Equal(Syn, arrived[0]); // the other way: untouched
        Assert.Equal(DatagramKind.SynAck, synAck.Kind);
        Datagram changed = Datagram.Parse(arrived[1], TimeSpan.Zero)!;
        Assert.Equal((ClientIsn, 0x100u | (uint)(SegmentFlags.Syn | SegmentFlags.Ack), 3), (changed.Ack, (uint)changed.Header.Flags, changed.Payload.Length));
        Assert.Equal(0x20, arrived[2][SegmentHeader.Size + 1] ^ first[SegmentHeader.Size + 1]);
        Assert.Equal(second.AsSpan(SegmentHeader.Size).ToArray(), arrived[3].AsSpan(SegmentHeader.Size).ToArray());
        Assert.True(Datagram.Parse(arrived[3], TimeSpan.Zero)!.Header.HasReservedBits);
    }

    [Fact]
    public void Random_loss_repeats_with_its_seed()
    {
        static bool[] Draws(int seed)
        {
            var plan = new FaultPlan([new RandomLoss(0.3, seed)]);
            return [.. Enumerable.Range(0, 200).Select(i => plan.Decide(new DatagramClass(Way.ToClient, DatagramKind.Segment, i, 1)).Copies == 0)];
        }

        Assert.Equal(Draws(7), Draws(7));
        Assert.NotEqual(Draws(7), Draws(8));
        Assert.InRange(Draws(7).Count(lost => lost), 30, 90);
    }

    private static byte[] Segment(int offset, int length, bool fin = false) =>
        Datagram.Build(GatewayIsn + 1 + (uint)offset, ClientIsn + 2, fin ? SegmentFlags.Ack | SegmentFlags.Fin : SegmentFlags.Ack, new byte[length]);

    private static byte[] AckOf(int offset, int length) =>
        Datagram.Build(ClientIsn + 2, GatewayIsn + 1 + (uint)offset + (uint)length, SegmentFlags.Ack);
}
