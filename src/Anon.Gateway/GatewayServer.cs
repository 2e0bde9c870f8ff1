using System.Net;
using System.Net.Sockets;
using Anon.Gateway.Status;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Gateway;

/// <summary>
/// The gateway's socket loop: one UDP socket, one thread, driving the sans-IO
/// <see cref="GatewayEndpoint"/> with each datagram and each timer expiry.
/// </summary>
public sealed class GatewayServer : IDisposable
{
    /// <summary>Longest wait between checks for shutdown when no timer is due.</summary>
    private static readonly TimeSpan MaximumWait = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    /// <summary>How often the loop posts its figures for the status page (--status); it allocates, so not per datagram.</summary>
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(1);

    /// <summary>Open connections listed on the status page, at most; the count is always exact.</summary>
    private const int ConnectionsListed = 100;

    /// <summary>Log lines a second, at most, for datagrams outside any connection.</summary>
    public const int ConnectionlessLogLinesPerSecond = 200;

    private readonly Socket _socket;
    private readonly GatewayEndpoint _endpoint;
    private readonly PacketLog _log;
    private readonly MonotonicClock _clock;
    private readonly byte[] _sendBuffer = new byte[Segments.MaxDatagram];
    private readonly DatagramBatch _batch;
    private readonly AllowList? _allowed;
    private long _notAllowed;
    private readonly LogBudget _logBudget = new(ConnectionlessLogLinesPerSecond);
    private TimeSpan _nextSkipReport;
    private long _sendErrors;
    private readonly StatusBoard? _status;
    private readonly List<ConnectionView> _connectionViews = [];
    private TimeSpan _nextStatus;

    public GatewayServer(
        Socket socket, GatewayEndpoint endpoint, PacketLog log, TimeProvider? time = null, AllowList? allowed = null, StatusBoard? status = null)
    {
        _allowed = allowed;
        _status = status;
        _socket = socket;
        _endpoint = endpoint;
        _log = log;
        _clock = new MonotonicClock(time ?? TimeProvider.System);
        _batch = DatagramBatch.Create(socket);
    }

    /// <summary>The core this loop drives.</summary>
    public GatewayEndpoint Endpoint => _endpoint;

    /// <summary>The address the socket is bound to (port included, when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>
    /// Binds a UDP socket on every address: IPv6 and, through a dual-mode socket, IPv4 too; IPv4 only
    /// where the system has no IPv6.
    /// </summary>
    /// <exception cref="CommandFailedException">The port is in use or not ours to take.</exception>
    /// <param name="address">Serve on this address only (<c>--bind</c>), such as the device network's; null for all.</param>
    public static Socket Bind(int port, IPAddress? address = null)
    {
        Socket socket = address is not null
            ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : Socket.OSSupportsIPv6
                ? new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true }
                : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            address ??= socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string reason = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"UDP port {port} is already in use",
                SocketError.AccessDenied => $"not allowed to use UDP port {port} (ports below 1024 need privileges)",
                SocketError.AddressNotAvailable => $"cannot listen on {address}: no interface of this machine has that address",
                _ => $"cannot listen on UDP port {port}: {e.Message}",
            };
            throw new CommandFailedException(ExitCodes.Unavailable, reason, e);
        }
    }

    /// <summary>Serves until <paramref name="stop"/> is cancelled; returns within a fraction of a second of it.</summary>
    public void Run(CancellationToken stop)
    {
        TimeSpan nextSummary = _clock.Now + SummaryInterval;
        var summary = new StatisticsSummary(_endpoint.Statistics);
        while (!stop.IsCancellationRequested)
        {
            TimeSpan now = _clock.Now;
            _endpoint.HandleTimeout(now);
            SendRetransmissions();
            ReportEvents();
            if (now >= nextSummary)
            {
                summary.Report(_log, _sendErrors, _notAllowed, _endpoint.SharedRoundTripEstimate);
                nextSummary = now + SummaryInterval;
            }

            if (_status is not null && now >= _nextStatus)
            {
                PostStatus(_status, now);
                _nextStatus = now + StatusInterval;
            }

            TimeSpan wait = (_endpoint.PollTimeout() ?? TimeSpan.MaxValue) - now;
            wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaximumWait ? MaximumWait : wait;
            ReceiveBatchOfDatagrams(wait);
        }

        ReportEvents();
        summary.Report(_log, _sendErrors, _notAllowed, _endpoint.SharedRoundTripEstimate);
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Waits up to <paramref name="wait"/> for datagrams, handles each, and sends the answers together.</summary>
    private void ReceiveBatchOfDatagrams(TimeSpan wait)
    {
        int received = _batch.Receive(wait);
        for (int i = 0; i < received; i++)
        {
            Handle(_batch.Source(i), _batch.Datagram(i));
        }

        _sendErrors += _batch.Flush();
        ReportSkippedLines();
    }

    private void Handle(SocketAddress source, ReadOnlySpan<byte> datagram)
    {
        if (_allowed is not null && !_allowed.Allows(source))
        {
            _notAllowed++; // --allow: not a client of ours; not even logged, only counted
            return;
        }

        TimeSpan now = _clock.Now;
        bool connected = _endpoint.HasConnection(source);
        Span<byte> answer = _batch.NextAnswer;
        int length = _endpoint.HandleDatagram(source, datagram, now, answer);
        connected |= _endpoint.HasConnection(source);

        // Traffic of a connection is always logged; anything else (SYNs and their answers, dropped
        // datagrams) within a budget, so that a flood cannot fill the disk.
        bool log = connected || _logBudget.TryTake(now);
        if (log)
        {
            _log.Packet(PacketDirection.Receive, datagram);
        }

        if (length > 0)
        {
            if (log)
            {
                _log.Packet(PacketDirection.Send, answer[..length]);
            }

            _batch.QueueAnswer(length, source);
        }
    }

    private void PostStatus(StatusBoard status, TimeSpan now)
    {
        _connectionViews.Clear();
        _endpoint.CopyConnections(_connectionViews, ConnectionsListed);
        GatewayStatistics statistics = _endpoint.Statistics;
        status.PostTraffic(new TrafficStatus(
            status.Now,
            _endpoint.ConnectionCount,
            statistics.ConnectionsCompleted,
            statistics.ConnectionsTimedOut,
            statistics.Retransmissions,
            statistics.DatagramsReceived,
            statistics.DatagramsSent,
            statistics.DatagramsDropped + _notAllowed,
            statistics.PayloadBytesSent,
            _endpoint.SharedRoundTripEstimate?.Smoothed.TotalMilliseconds,
            [.. _connectionViews.Select(view => new ConnectionStatus(
                Describe(view.Peer),
                view.BytesAcknowledged,
                view.ContentLength,
                view.Retransmissions,
                view.SmoothedRoundTrip?.TotalMilliseconds,
                (now - view.OpenedAt).TotalMilliseconds))]));
    }

    private void SendRetransmissions()
    {
        while (_endpoint.PollTransmit(_sendBuffer, out int length, out SocketAddress? destination))
        {
            Send(_sendBuffer.AsSpan(0, length), destination!, log: true);
        }
    }

    private void Send(ReadOnlySpan<byte> datagram, SocketAddress destination, bool log)
    {
        if (log)
        {
            _log.Packet(PacketDirection.Send, datagram);
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (SocketException)
        {
            // A full send buffer or an unreachable peer: the retransmission timer covers it.
            _sendErrors++;
        }
    }

    private void ReportSkippedLines()
    {
        TimeSpan now = _clock.Now;
        if (_logBudget.Skipped > 0 && now >= _nextSkipReport)
        {
            _log.Event($"skipped {_logBudget.TakeSkipped()} log lines of datagrams outside any connection (at most {ConnectionlessLogLinesPerSecond} a second are logged)");
            _nextSkipReport = now + TimeSpan.FromSeconds(1);
        }
    }

    private void ReportEvents()
    {
        while (_endpoint.PollEvent(out GatewayEvent e))
        {
            string peer = Describe(e.Peer);
            string accepted = e.Leniencies == PeerLeniency.None ? "" : $" (accepted from this client: {PeerWords.Describe(e.Leniencies)})";
            _log.Event(e.Kind switch
            {
                GatewayEventKind.Opened => $"connection from {peer} opened",
                GatewayEventKind.Completed =>
                    $"connection from {peer} completed: {e.BytesAcknowledged} bytes in {e.Elapsed.TotalMilliseconds:0.0} ms, {e.Retransmissions} retransmissions{accepted}",
                GatewayEventKind.TimedOut =>
                    $"connection from {peer} given up: no acknowledgment after every retransmission ({e.BytesAcknowledged} bytes acknowledged){accepted}",
                GatewayEventKind.Refused =>
                    $"connection from {peer}: dropped {PeerWords.Describe(e.Refusal)} (logged once a connection; the minute summary counts them)",
                _ => $"connection from {peer} replaced: the client restarted with a new handshake",
            });
        }
    }

    /// <summary>"192.0.2.1:5000" or "[2001:db8::1]:5000"; IPv4 clients of the dual-mode socket shown as IPv4.</summary>
    internal static string Describe(SocketAddress address)
    {
        IPEndPoint template = address.Family == AddressFamily.InterNetworkV6 ? new(IPAddress.IPv6Any, 0) : new(IPAddress.Any, 0);
        var endPoint = (IPEndPoint)template.Create(address);
        return endPoint.Address.IsIPv4MappedToIPv6
            ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port).ToString()
            : endPoint.ToString();
    }

    /// <summary>One line a minute with what changed, instead of a line per dropped datagram.</summary>
    private sealed class StatisticsSummary(GatewayStatistics statistics)
    {
        private long _opened;
        private long _completed;
        private long _timedOut;
        private long _retransmissions;
        private long _dropped;
        private long _syns;

        public void Report(PacketLog log, long sendErrors, long notAllowed, RoundTripEstimate? estimate)
        {
            string rtt = estimate is { } e ? $"{e.Smoothed.TotalMilliseconds:0.000} ms" : "not measured yet";
            long dropped = notAllowed + statistics.DatagramsDropped;
            if (statistics.ConnectionsOpened == _opened && dropped == _dropped && statistics.SynsAnswered == _syns)
            {
                return;
            }

            log.Event(
                $"since the last summary: {statistics.ConnectionsOpened - _opened} connections opened, " +
                $"{statistics.ConnectionsCompleted - _completed} completed, {statistics.ConnectionsTimedOut - _timedOut} given up, " +
                $"{statistics.Retransmissions - _retransmissions} retransmissions, {dropped - _dropped} datagrams dropped, " +
                $"{statistics.PayloadBytesSent} bytes sent in all, RTT {rtt} " +
                $"(totals: {statistics.SynsAnswered} SYNs answered, {statistics.Runts} too short, {statistics.UnexpectedPayloads} with a payload, " +
                $"{statistics.Unmatched} unmatched, " +
                $"{statistics.InvalidAcks} invalid acks, {statistics.DuplicateAcks} duplicate acks, " +
                $"{statistics.ConnectionsRefused} handshakes refused with the table full, {statistics.ConnectionsRateLimited} over the per-source rate, " +
                $"{notAllowed} from addresses outside --allow, {sendErrors} send errors)");
            _opened = statistics.ConnectionsOpened;
            _completed = statistics.ConnectionsCompleted;
            _timedOut = statistics.ConnectionsTimedOut;
            _retransmissions = statistics.Retransmissions;
            _dropped = dropped;
            _syns = statistics.SynsAnswered;
        }
    }
}
