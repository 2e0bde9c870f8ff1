using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway.Observability;

/// <summary>
/// Everything the gateway tells people and machines about its traffic, in one place: a log line per
/// datagram (traffic outside any connection within a budget), a line per connection event, the
/// minute summary, and the figures of the status page and the metrics, all from the loop's
/// <see cref="TrafficSnapshot"/>. Called on the loop's thread only.
/// </summary>
public sealed class GatewayReporter
{
    /// <summary>Log lines a second, at most, for datagrams outside any connection.</summary>
    public const int ConnectionlessLogLinesPerSecond = 200;

    private static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    /// <summary>Open connections listed on the status page, at most; the count is always exact.</summary>
    private const int ConnectionsListedOnStatus = 100;

    private readonly PacketLog _log;
    private readonly StatusBoard? _status;
    private readonly bool _listConnections;
    private readonly string _eventPrefix;
    private readonly LogBudget _logBudget = new(ConnectionlessLogLinesPerSecond);
    private TrafficSnapshot _summarized = TrafficSnapshot.Empty;
    private TimeSpan _nextSummary = SummaryInterval;

    /// <param name="status">Where the figures go for the status page and the metrics.</param>
    /// <param name="listConnections">Whether anyone shows open connections one by one (the status page does).</param>
    /// <param name="eventPrefix">Put before each event line: which port's traffic it tells of, when the gateway serves two.</param>
    public GatewayReporter(PacketLog log, StatusBoard? status = null, bool listConnections = false, string eventPrefix = "")
    {
        _log = log;
        _status = status;
        _listConnections = listConnections;
        _eventPrefix = eventPrefix;
    }

    /// <summary>How many open connections a snapshot should view: the status page lists some; nothing else needs them.</summary>
    public int ConnectionsListed => _listConnections ? ConnectionsListedOnStatus : 0;

    /// <summary>The loop starts at <paramref name="now"/>: the first summary comes a minute later.</summary>
    public void Started(TimeSpan now) => _nextSummary = now + SummaryInterval;

    /// <summary>
    /// Logs a datagram and its answer. Traffic of a connection is always logged; anything else (SYNs
    /// and their answers, dropped datagrams) within a budget, so that a flood cannot fill the disk.
    /// </summary>
    public void Datagram(in DatagramOutcome outcome, TimeSpan now)
    {
        if (!outcome.OfConnection && !_logBudget.TryTake(now))
        {
            return;
        }

        if (outcome.Received is { } received)
        {
            _log.Packet(PacketDirection.Receive, received);
        }

        if (outcome.HasAnswer)
        {
            _log.Packet(PacketDirection.Send, outcome.Answer);
        }
    }

    public void Retransmitted(in Transmit transmit) => _log.Packet(PacketDirection.Send, transmit.Header);

    public void Event(in GatewayEvent e)
    {
        string peer = e.Peer.ToString();
        string accepted = e.Leniencies == PeerLeniency.None ? "" : $" (accepted from this client: {PeerWords.Describe(e.Leniencies)})";
        Say(e.Kind switch
        {
            GatewayEventKind.Opened => $"connection from {peer} opened",
            GatewayEventKind.Completed =>
                $"connection from {peer} completed: {e.BytesAcknowledged} bytes in {e.Elapsed.TotalMilliseconds:0.0} ms, {e.Retransmissions} retransmissions{accepted}",
            GatewayEventKind.TimedOut =>
                $"connection from {peer} given up: no acknowledgment after every retransmission ({e.BytesAcknowledged} bytes acknowledged){accepted}",
            GatewayEventKind.CloseUnconfirmed =>
                $"connection from {peer} close unconfirmed: every byte sent, no answer to the FIN after every retransmission " +
                $"(the client may have the page and have left before its ACK|FIN got through){accepted}",
            GatewayEventKind.NewDropReason =>
                $"connection from {peer}: dropped {PeerWords.Describe(e.DropReason)} (logged once a connection; the minute summary counts them)",
            _ => $"connection from {peer} replaced: the client restarted with a new handshake",
        });
    }

    /// <summary>The loop's figures, about once a second: posted to the status page and the metrics, and summarized in the log once a minute.</summary>
    public void Figures(TrafficSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _status?.PostTraffic(snapshot);
        if (_logBudget.Skipped > 0)
        {
            Say($"skipped {_logBudget.TakeSkipped()} log lines of datagrams outside any connection (at most {ConnectionlessLogLinesPerSecond} a second are logged)");
        }

        if (snapshot.At >= _nextSummary)
        {
            Summarize(snapshot);
            _nextSummary = snapshot.At + SummaryInterval;
        }
    }

    /// <summary>A stop began that lets the transfers in flight finish.</summary>
    public void Draining(int inFlight, TimeSpan timeout) =>
        Say($"stopping: {inFlight} transfers in flight may finish within {timeout.TotalSeconds:0.###} s; no SYN is answered from now on");

    public void Drained(DrainOutcome drain) =>
        Say(
            $"drained in {drain.Took.TotalSeconds:0.000} s: {drain.Finished} of {drain.InFlight + drain.Opened} transfers finished " +
            $"({drain.Opened} opened by handshakes answered before the stop), " +
            $"{drain.GivenUp} given up, {drain.Cut} cut at the drain timeout");

    /// <summary>The loop has stopped: the last figures, and a summary of what the last one did not cover.</summary>
    public void Stopped(TrafficSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _status?.PostTraffic(snapshot);
        Summarize(snapshot);
    }

    /// <summary>One line a minute with what changed, instead of a line per dropped datagram; none when nothing came.</summary>
    private void Summarize(TrafficSnapshot now)
    {
        TrafficSnapshot last = _summarized;
        GatewayStatistics core = now.Core, before = last.Core;
        if (core.ConnectionsOpened == before.ConnectionsOpened && now.DatagramsDropped == last.DatagramsDropped && core.SynsAnswered == before.SynsAnswered)
        {
            return;
        }

        DropCounts drops = core.Drops;
        string rtt = now.RoundTrip is { } e ? $"{e.Smoothed.TotalMilliseconds:0.000} ms" : "not measured yet";
        Say(
            $"since the last summary: {core.ConnectionsOpened - before.ConnectionsOpened} connections opened, " +
            $"{core.ConnectionsCompleted - before.ConnectionsCompleted} completed, {core.ConnectionsTimedOut - before.ConnectionsTimedOut} given up, " +
            $"{core.ClosesUnconfirmed - before.ClosesUnconfirmed} closes unconfirmed, " +
            $"{core.Retransmissions - before.Retransmissions} retransmissions, {now.DatagramsDropped - last.DatagramsDropped} datagrams dropped, " +
            $"{core.PayloadBytesSent} bytes sent in all, RTT {rtt} " +
            $"(totals: {core.SynsAnswered} SYNs answered, {drops[DropReason.TooShort]} too short, {drops[DropReason.ClientPayload]} with a payload, " +
            $"{drops[DropReason.NoConnection] + drops[DropReason.UnexpectedFlags]} unmatched, " +
            $"{drops[DropReason.AckOutOfRange] + drops[DropReason.FinWithoutAck]} invalid acks, {core.DuplicateAcks} duplicate acks, " +
            $"{drops[DropReason.TableFull]} handshakes refused with the table full, {drops[DropReason.RateLimited]} over the per-source rate, " +
            $"{now.NotAllowed} from addresses outside --allow, {now.SendErrors} send errors)");
        _summarized = now;
    }

    private void Say(string line) => _log.Event(_eventPrefix.Length == 0 ? line : _eventPrefix + line);
}
