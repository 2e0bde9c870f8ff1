using Anon.Protocol;

namespace Anon.Ladder;

/// <summary>
/// The exchange of one transfer as a ladder (sequence) diagram, as the spec draws it: a client and a
/// gateway column, one arrow per datagram, in order.
/// </summary>
/// <remarks>
/// Built from the client's log, the gateway's log, both, or recorded live (<see cref="LadderRecorder"/>).
/// A log line holds only direction, seq, ack and flags, so the rest is inferred: a data segment's
/// length from the acknowledgment that answers it (ack − seq), a retransmission from a datagram its
/// sender logged before, a duplicate from one its receiver logged before. Losses are known only
/// with both logs: a datagram one side sent and the other never received.
/// </remarks>
public sealed class LadderDiagram
{
    // The client's sequence and acknowledgment numbers stay this close to its ISN for any page the
    // gateway serves (one per datagram), which picks this connection's lines out of a gateway log.
    private const int ConnectionWindow = 1 << 20;

    public LadderDiagram(IEnumerable<LadderArrow> arrows) => Arrows = [.. arrows];

    public IReadOnlyList<LadderArrow> Arrows { get; }

    /// <summary>One line: how many datagrams each way, payload delivered, retransmissions, losses.</summary>
    public string Summary
    {
        get
        {
            int fromClient = Arrows.Count(arrow => arrow.From == LadderSide.Client);
            long data = Arrows.Where(arrow => arrow.From == LadderSide.Gateway && !arrow.Lost && !arrow.Duplicate).Sum(arrow => (long)(arrow.PayloadLength ?? 0));
            return $"{Arrows.Count} datagrams: {fromClient} from the client, {Arrows.Count - fromClient} from the gateway; " +
                   $"{data} bytes of page delivered; {Arrows.Count(arrow => arrow.Retransmission)} retransmissions, " +
                   $"{Arrows.Count(arrow => arrow.Duplicate)} duplicates, {Arrows.Count(arrow => arrow.Lost)} lost";
        }
    }

    /// <summary>The diagram of one side's log: its packet lines, in order; other lines are skipped.</summary>
    public static LadderDiagram FromLog(IEnumerable<string> lines, LadderSide loggedBy) => OneSided(PacketLines(lines), loggedBy);

    /// <summary>
    /// The transfers of one side's log, a diagram each, in the order they began: a client's log holds
    /// one per fetch (in watch mode, or appended to across runs), a gateway's log one per connection,
    /// and those may overlap.
    /// </summary>
    public static IReadOnlyList<LadderDiagram> TransfersFromLog(IEnumerable<string> lines, LadderSide loggedBy) =>
        [.. SplitByConnection(PacketLines(lines), loggedBy).Select(transfer => OneSided(transfer.Lines, loggedBy))];

    /// <summary>
    /// The transfers of a client's log, each merged with the same connection's lines in the
    /// gateway's log (see <see cref="FromLogs"/>). A transfer the gateway log does not hold (it is
    /// another gateway's, or the client's log lacks that connection's SYN) is drawn from the client's
    /// log alone, claiming no loss.
    /// </summary>
    public static IReadOnlyList<LadderDiagram> TransfersFromLogs(IEnumerable<string> clientLog, IEnumerable<string> gatewayLog)
    {
        List<Connection> gatewayConnections = SplitByConnection(PacketLines(gatewayLog), LadderSide.Gateway);
        var diagrams = new List<LadderDiagram>();
        foreach (Connection transfer in SplitByConnection(PacketLines(clientLog), LadderSide.Client))
        {
            // A client started with a fixed --initial-seq opens every connection with one ISN: the
            // k-th of them in the client's log is the k-th in the gateway's.
            int match = transfer.ClientIsn is null ? -1 : gatewayConnections.FindIndex(other => other.ClientIsn == transfer.ClientIsn);
            if (match < 0)
            {
                diagrams.Add(OneSided(transfer.Lines, LadderSide.Client));
                continue;
            }

            diagrams.Add(Merged(transfer.Lines, gatewayConnections[match].Lines));
            gatewayConnections.RemoveAt(match);
        }

        return diagrams;
    }

    /// <summary>
    /// The diagram of both logs of one transfer, merged: each datagram one side sent is matched with
    /// the other side's receipt of it, and one never received is marked lost. The gateway log may
    /// hold other clients' connections too: only the lines of the client log's connection are used;
    /// when it holds none, the client's log is drawn alone, claiming no loss.
    /// </summary>
    public static LadderDiagram FromLogs(IEnumerable<string> clientLog, IEnumerable<string> gatewayLog)
    {
        List<PacketLine> client = [.. PacketLines(clientLog)];
        int syn = client.FindIndex(line => line.Direction == PacketDirection.Send && line.Header.IsSyn && !line.Header.IsAck);
        if (syn < 0)
        {
            return Merged(client, PacketLines(gatewayLog));
        }

        SequenceNumber isn = client[syn].Header.Sequence;
        Connection? own = SplitByConnection(PacketLines(gatewayLog), LadderSide.Gateway).Find(connection => connection.ClientIsn == isn);
        return own is null ? OneSided(client, LadderSide.Client) : Merged(client, own.Lines);
    }

    /// <summary>
    /// One side's packet lines split by connection, in the order the connections began. A line is
    /// placed by the client's number it carries (the sequence number of a datagram to the gateway,
    /// the acknowledgment of one from it), which stays near that client's ISN; a client's SYN opens a
    /// connection unless it repeats the SYN of one still open; lines of a connection whose SYN the
    /// log does not hold form a connection of their own, with no ISN.
    /// </summary>
    private static List<Connection> SplitByConnection(IEnumerable<PacketLine> lines, LadderSide loggedBy)
    {
        var connections = new List<Connection>();
        foreach (PacketLine line in lines)
        {
            bool fromClient = (line.Direction == PacketDirection.Send) == (loggedBy == LadderSide.Client);
            SequenceNumber clientNumber = fromClient ? line.Header.Sequence : line.Header.Acknowledgment;
            bool isClientSyn = fromClient && line.Header.IsSyn && !line.Header.IsAck;
            int index = isClientSyn
                ? connections.FindLastIndex(connection => connection.ClientIsn == clientNumber && !connection.ClientClosed) // a retransmitted SYN
                : Nearest(connections.Select(connection => connection.ClientIsn), clientNumber);
            if (index < 0 && isClientSyn)
            {
                connections.Add(new Connection(clientNumber));
                index = connections.Count - 1;
            }
            else if (index < 0)
            {
                if (connections.Count == 0 || connections[^1].ClientIsn is not null)
                {
                    connections.Add(new Connection(null));
                }

                index = connections.Count - 1;
            }

            connections[index].Lines.Add(line);
            connections[index].ClientClosed |= fromClient && line.Header.IsFin;
        }

        return connections;
    }

    /// <summary>The connection whose client ISN is the closest at or below <paramref name="clientNumber"/>, within the window; -1 for none.</summary>
    private static int Nearest(IEnumerable<SequenceNumber?> clientIsns, SequenceNumber clientNumber)
    {
        int nearest = -1;
        uint best = ConnectionWindow;
        int index = 0;
        foreach (SequenceNumber? isn in clientIsns)
        {
            if (isn is { } start && (uint)(clientNumber - start) is var distance && distance < ConnectionWindow && distance <= best)
            {
                (nearest, best) = (index, distance);
            }

            index++;
        }

        return nearest;
    }

    private static LadderDiagram OneSided(IEnumerable<PacketLine> lines, LadderSide loggedBy)
    {
        List<LadderArrow> arrows = [.. lines.Select(line => new LadderArrow(line.Direction == PacketDirection.Send ? loggedBy : Other(loggedBy), line.Header))];
        return new LadderDiagram(Annotate(arrows, arrow => arrow.From == loggedBy, arrow => arrow.To == loggedBy));
    }

    private static LadderDiagram Merged(
        IEnumerable<PacketLine> clientLines, IEnumerable<PacketLine> gatewayLines)
    {
        LogEvent[] client = [.. clientLines.Select(line => new LogEvent(LadderSide.Client, line.Direction, line.Header))];
        LogEvent[] gateway = [.. gatewayLines.Select(line => new LogEvent(LadderSide.Gateway, line.Direction, line.Header))];
        MatchSendsWithReceipts(client, gateway);
        MatchSendsWithReceipts(gateway, client);
        return new LadderDiagram(Annotate(Merge(client, gateway), _ => true, arrow => !arrow.Lost));
    }

    /// <summary>Fills in what a log does not record (payload lengths) and marks repeats.</summary>
    /// <param name="senderLogged">Whether the arrow's sender's log is at hand: then a repeat is a retransmission.</param>
    /// <param name="receiverLogged">Whether its receiver's log shows it arriving: then a repeat is a duplicate.</param>
    internal static List<LadderArrow> Annotate(List<LadderArrow> arrows, Func<LadderArrow, bool> senderLogged, Func<LadderArrow, bool> receiverLogged)
    {
        var sent = new HashSet<(LadderSide, SegmentHeader)>();
        var received = new HashSet<(LadderSide, SegmentHeader)>();
        for (int i = 0; i < arrows.Count; i++)
        {
            LadderArrow arrow = arrows[i];
            (LadderSide, SegmentHeader) key = (arrow.From, arrow.Header);
            arrows[i] = arrow with
            {
                PayloadLength = arrow.PayloadLength ?? InferPayloadLength(arrows, i),
                Retransmission = arrow.Retransmission || (senderLogged(arrow) && !sent.Add(key)),
                Duplicate = arrow.Duplicate || (receiverLogged(arrow) && !received.Add(key)),
            };
        }

        return arrows;
    }

    /// <summary>
    /// The client sends no data, nor does a SYN|ACK carry any. A gateway segment with seq S carries
    /// A − S bytes, where A is the first later client acknowledgment past S (PROTOCOL.md "The
    /// exchange"); a FIN acknowledged at exactly S carries none.
    /// </summary>
    private static int? InferPayloadLength(List<LadderArrow> arrows, int index)
    {
        LadderArrow arrow = arrows[index];
        if (arrow.From == LadderSide.Client || arrow.Header.IsSyn)
        {
            return 0;
        }

        foreach (LadderArrow later in arrows.Skip(index + 1).Where(a => a.From == LadderSide.Client && a.Header.IsAck))
        {
            int length = later.Header.Acknowledgment - arrow.Header.Sequence;
            if (length > 0)
            {
                return length <= Segments.MaxPayload ? length : null;
            }

            if (length == 0 && arrow.Header.IsFin && later.Header.IsFin)
            {
                return 0;
            }
        }

        return null;
    }

    private static IEnumerable<PacketLine> PacketLines(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            if (PacketLogLine.TryParse(line.TrimEnd('\r'), out PacketDirection direction, out SegmentHeader header))
            {
                yield return new PacketLine(direction, header);
            }
        }
    }

    private static LadderSide Other(LadderSide side) => side == LadderSide.Client ? LadderSide.Gateway : LadderSide.Client;

    /// <summary>
    /// Pairs each receipt in one log with a sending of the same datagram in the other. Identical
    /// datagrams are one datagram and its retransmissions; when fewer arrived than were sent, the
    /// later copies are taken as the ones that arrived, since a stop-and-wait sender sends again
    /// only when it has heard nothing back.
    /// </summary>
    private static void MatchSendsWithReceipts(LogEvent[] senderLog, LogEvent[] receiverLog)
    {
        var receipts = receiverLog.Where(e => e.Direction == PacketDirection.Receive).ToLookup(e => e.Header);
        foreach (IGrouping<SegmentHeader, LogEvent> sends in senderLog.Where(e => e.Direction == PacketDirection.Send).GroupBy(e => e.Header))
        {
            LogEvent[] sent = [.. sends];
            LogEvent[] received = [.. receipts[sends.Key]];
            int unreceived = Math.Max(0, sent.Length - received.Length);
            for (int i = 0; i < Math.Min(sent.Length, received.Length); i++)
            {
                sent[unreceived + i].Partner = received[i];
                received[i].Partner = sent[unreceived + i];
            }
        }
    }

    /// <summary>
    /// One order of both logs that keeps each log's order and puts every receipt after its sending
    /// (a topological order); where both are possible the client's next event goes first. One arrow
    /// per sending, and one per receipt whose sending is not in the other log.
    /// </summary>
    private static List<LadderArrow> Merge(LogEvent[] client, LogEvent[] gateway)
    {
        var arrows = new List<LadderArrow>();
        int c = 0;
        int g = 0;
        while (c < client.Length || g < gateway.Length)
        {
            LogEvent next = c < client.Length && client[c].IsReady ? client[c++]
                : g < gateway.Length && gateway[g].IsReady ? gateway[g++]
                : c < client.Length ? client[c++] // logs that contradict each other: keep going in the client's order
                : gateway[g++];
            next.Done = true;
            if (next.Direction == PacketDirection.Send)
            {
                // Drawn here unless contradicting logs forced its receipt ahead of it, which drew it then.
                if (next.Partner is not { Done: true })
                {
                    arrows.Add(new LadderArrow(next.Side, next.Header) { Lost = next.Partner is null });
                }
            }
            else if (next.Partner is null || !next.Partner.Done)
            {
                arrows.Add(new LadderArrow(Other(next.Side), next.Header));
            }
        }

        return arrows;
    }

    private readonly record struct PacketLine(PacketDirection Direction, SegmentHeader Header);

    /// <summary>One connection's lines in one log; <see cref="ClientIsn"/> null when the log lacks its SYN.</summary>
    private sealed class Connection(SequenceNumber? clientIsn)
    {
        public SequenceNumber? ClientIsn { get; } = clientIsn;

        public List<PacketLine> Lines { get; } = [];

        /// <summary>The client has sent its FIN: a SYN with the same ISN after it opens a new connection.</summary>
        public bool ClientClosed { get; set; }
    }

    private sealed class LogEvent(LadderSide side, PacketDirection direction, SegmentHeader header)
    {
        public LadderSide Side { get; } = side;

        public PacketDirection Direction { get; } = direction;

        public SegmentHeader Header { get; } = header;

        /// <summary>The other log's event for the same datagram: its receipt, or its sending.</summary>
        public LogEvent? Partner { get; set; }

        public bool Done { get; set; }

        /// <summary>A receipt can be placed once its sending has been.</summary>
        public bool IsReady => Direction == PacketDirection.Send || Partner is null || Partner.Done;
    }
}

/// <summary>Chooses the drawing by the name of the file it goes to.</summary>
public static class LadderRendering
{
    /// <summary>SVG for a path ending in .svg, text for anything else (including "-", standard output).</summary>
    public static string RenderFor(this LadderDiagram diagram, string path) =>
        path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase) ? SvgLadder.Render(diagram) : TextLadder.Render(diagram);
}
