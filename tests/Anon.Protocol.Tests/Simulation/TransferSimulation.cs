using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace Anon.Protocol.Tests.Simulation;

/// <summary>
/// One gateway and some clients joined by a <see cref="SimulatedNetwork"/>, run in virtual time
/// (<see cref="FakeTimeProvider"/>) until every client has finished or failed and the gateway is idle.
/// Node 0 is the gateway; clients are nodes 1..N.
/// </summary>
internal sealed class TransferSimulation
{
    private const int Gateway = 0;
    private static readonly TimeSpan TimeLimit = TimeSpan.FromMinutes(10);
    private const int StepLimit = 2_000_000;

    private readonly FakeTimeProvider _clock = new();
    private readonly long _start;
    private readonly Random _random;
    private readonly SimulatedNetwork _network;
    private readonly GatewayEndpoint _gateway;
    private readonly ClientConnection?[] _clients;
    private readonly PeerAddress[] _addresses;
    private readonly TimeSpan[] _startAt;
    private readonly ClientOptions _clientOptions;
    private readonly byte[] _content;

    /// <summary>Per client node: the (gateway ISN, client ISN) pairs of the SYN|ACKs the gateway sent it.</summary>
    private readonly HashSet<(uint Gateway, uint Client)>[] _offered;

    /// <summary>Per client node: the gateway ISNs whose handshake ACK (ack = ISN + 1, seq = client ISN + 1) the gateway heard.</summary>
    private readonly HashSet<uint>[] _established;
    private readonly TimeSpan?[] _completedAt;
    private readonly byte[] _buffer = new byte[Segments.MaxDatagram];
    private readonly List<(int Node, TimeSpan At)> _restarts = [];
    private readonly List<(int Node, TimeSpan At, byte[] Datagram)> _forgeries = [];

    public TransferSimulation(
        int seed,
        NetworkConditions conditions,
        byte[] content,
        int clientCount = 1,
        ClientOptions? clientOptions = null,
        GatewayOptions? gatewayOptions = null,
        ISynCookieGenerator? cookies = null)
    {
        _start = _clock.GetTimestamp();
        _random = new Random(seed);
        _network = new SimulatedNetwork(_random, conditions);
        byte[] key = new byte[32];
        _random.NextBytes(key);
        _gateway = new GatewayEndpoint(content, cookies ?? new KeyedSynCookies(key), gatewayOptions);
        _content = content;
        _clientOptions = clientOptions ?? ClientOptions.Default;
        _clients = new ClientConnection?[clientCount + 1];
        _addresses = new PeerAddress[clientCount + 1];
        _startAt = new TimeSpan[clientCount + 1];
        _offered = [.. Enumerable.Range(0, clientCount + 1).Select(_ => new HashSet<(uint, uint)>())];
        _established = [.. Enumerable.Range(0, clientCount + 1).Select(_ => new HashSet<uint>())];
        _completedAt = new TimeSpan?[clientCount + 1];
        for (int node = 1; node <= clientCount; node++)
        {
            _addresses[node] = new PeerAddress(IPAddress.Loopback, 40000 + node);
            _startAt[node] = TimeSpan.FromMilliseconds(_random.Next(0, 50 * clientCount));
        }
    }

    private TimeSpan Now => _clock.GetElapsedTime(_start);

    /// <summary>The network, to add targeted drops before <see cref="Run"/>.</summary>
    public SimulatedNetwork Network => _network;

    /// <summary>Restarts client <paramref name="node"/> with a new ISN, <paramref name="after"/> its start, as a rebooted device would.</summary>
    public void RestartClient(int node, TimeSpan after) => _restarts.Add((node, _startAt[node] + after));

    /// <summary>Sends <paramref name="datagram"/> to the gateway from client <paramref name="node"/>'s address at <paramref name="at"/>, as a forger on its network would.</summary>
    public void Forge(int node, TimeSpan at, byte[] datagram) => _forgeries.Add((node, at, datagram));

    public SimulationResult Run()
    {
        var violations = new List<string>();
        int steps = 0;
        while (true)
        {
            if (++steps > StepLimit)
            {
                violations.Add($"no end after {StepLimit} steps");
                break;
            }

            TimeSpan now = Now;
            StartDueClients(now);
            SendDueForgeries(now);
            while (_network.TryDeliver(now, out Delivery delivery))
            {
                Deliver(delivery, now, violations);
            }

            RunTimers(now, violations);
            RecordCompletions(now);
            TimeSpan? next = NextEvent();
            if (next is not { } at)
            {
                break;
            }

            if (at > TimeLimit)
            {
                violations.Add($"still running after {TimeLimit.TotalMinutes} virtual minutes");
                break;
            }

            if (at > now)
            {
                _clock.Advance(at - now);
            }
        }

        return new SimulationResult(
            _clients[1..].Select(c => c!).ToArray(),
            _completedAt[1..].Select((at, i) => at - _startAt[i + 1]).ToArray(),
            _gateway,
            Now,
            _network.Sent,
            _network.Lost,
            violations);
    }

    private void RecordCompletions(TimeSpan now)
    {
        for (int node = 1; node < _clients.Length; node++)
        {
            if (_completedAt[node] is null && _clients[node] is { IsComplete: true })
            {
                _completedAt[node] = now;
            }
        }
    }

    private void StartDueClients(TimeSpan now)
    {
        for (int node = 1; node < _clients.Length; node++)
        {
            if (_clients[node] is null && _startAt[node] <= now)
            {
                _clients[node] = new ClientConnection(new SequenceNumber((uint)_random.NextInt64(0, 1L << 32)), now, _clientOptions);
            }
        }

        for (int i = _restarts.Count - 1; i >= 0; i--)
        {
            (int node, TimeSpan at) = _restarts[i];
            if (at <= now && _clients[node] is not null)
            {
                _restarts.RemoveAt(i);
                _clients[node] = new ClientConnection(new SequenceNumber((uint)_random.NextInt64(0, 1L << 32)), now, _clientOptions);
            }
        }
    }

    private void SendDueForgeries(TimeSpan now)
    {
        for (int i = _forgeries.Count - 1; i >= 0; i--)
        {
            if (_forgeries[i].At <= now)
            {
                _network.Send(_forgeries[i].Node, Gateway, _forgeries[i].Datagram, now);
                _forgeries.RemoveAt(i);
            }
        }
    }

    private void Deliver(Delivery delivery, TimeSpan now, List<string> violations)
    {
        if (delivery.To == Gateway)
        {
            if (SegmentHeader.TryRead(delivery.Datagram, out SegmentHeader header) && header.ControlFlags == SegmentFlags.Ack
                && delivery.Datagram.Length == SegmentHeader.Size
                && _offered[delivery.From].Contains((header.Acknowledgment.Value - 1, header.Sequence.Value - 1)))
            {
                _established[delivery.From].Add(header.Acknowledgment.Value - 1);
            }

            int length = _gateway.HandleDatagram(_addresses[delivery.From], delivery.Datagram, now, _buffer).AnswerLength;
            if (length > 0)
            {
                SendFromGateway(delivery.From, length, now, violations);
            }

            return;
        }

        ClientConnection? client = _clients[delivery.To];
        if (client is null)
        {
            return;
        }

        int answer = client.HandleDatagram(delivery.Datagram, now, _buffer).AnswerLength;
        if (answer > 0)
        {
            _network.Send(delivery.To, Gateway, _buffer.AsSpan(0, answer), now);
        }
    }

    /// <summary>
    /// Sends what the gateway wrote, after checking that data goes only to a connection whose handshake
    /// the client completed: the payload is the content at its seq counted from an ISN the client
    /// acknowledged (a connection opened without one numbers its content from elsewhere).
    /// </summary>
    private void SendFromGateway(int to, int length, TimeSpan now, List<string> violations)
    {
        SegmentHeader.TryRead(_buffer.AsSpan(0, length), out SegmentHeader header);
        ReadOnlySpan<byte> payload = _buffer.AsSpan(SegmentHeader.Size, length - SegmentHeader.Size);
        if (header.ControlFlags == (SegmentFlags.Syn | SegmentFlags.Ack))
        {
            _offered[to].Add((header.Sequence.Value, header.Acknowledgment.Value - 1));
        }
        else if (payload.Length > 0 && !IsContentOfAnEstablishedConnection(to, header.Sequence.Value, payload))
        {
            violations.Add($"the gateway sent data (seq {header.Sequence.Value}) to client {to} before a handshake ACK for that connection");
        }

        _network.Send(Gateway, to, _buffer.AsSpan(0, length), now);
    }

    private bool IsContentOfAnEstablishedConnection(int node, uint seq, ReadOnlySpan<byte> payload)
    {
        foreach (uint isn in _established[node])
        {
            uint offset = seq - isn - 1;
            if (offset <= (uint)_content.Length && payload.Length <= _content.Length - (int)offset
                && payload.SequenceEqual(_content.AsSpan((int)offset, payload.Length)))
            {
                return true;
            }
        }

        return false;
    }

    private void RunTimers(TimeSpan now, List<string> violations)
    {
        _gateway.HandleTimeout(now);
        while (_gateway.PollTransmit(_buffer, out Transmit transmit))
        {
            SendFromGateway(Array.IndexOf(_addresses, transmit.Destination), transmit.Length, now, violations);
        }

        for (int node = 1; node < _clients.Length; node++)
        {
            if (_clients[node] is not { } client)
            {
                continue;
            }

            client.HandleTimeout(now);
            while (client.PollTransmit(_buffer, out int length))
            {
                _network.Send(node, Gateway, _buffer.AsSpan(0, length), now);
            }
        }
    }

    private TimeSpan? NextEvent()
    {
        TimeSpan? next = Min(_network.NextDelivery, _gateway.PollTimeout());
        for (int node = 1; node < _clients.Length; node++)
        {
            next = Min(next, _clients[node] is { } client ? client.PollTimeout() : _startAt[node]);
        }

        foreach ((_, TimeSpan at) in _restarts)
        {
            next = Min(next, at);
        }

        foreach ((_, TimeSpan at, _) in _forgeries)
        {
            next = Min(next, at);
        }

        return next;
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
}

/// <param name="TransferTimes">Per client, from its start to its content being complete; null if it never was.</param>
/// <param name="Elapsed">Until everything was idle, the gateway's reaping of unfinished connections included.</param>
internal sealed record SimulationResult(
    ClientConnection[] Clients,
    TimeSpan?[] TransferTimes,
    GatewayEndpoint Gateway,
    TimeSpan Elapsed,
    long DatagramsSent,
    long DatagramsLost,
    List<string> Violations);
