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
    private readonly SocketAddress[] _addresses;
    private readonly TimeSpan[] _startAt;
    private readonly ClientOptions _clientOptions;
    private readonly bool[] _gatewayHeardAck;
    private readonly TimeSpan?[] _completedAt;
    private readonly byte[] _buffer = new byte[Segments.MaxDatagram];
    private readonly List<(int Node, TimeSpan At)> _restarts = [];

    public TransferSimulation(
        int seed,
        NetworkConditions conditions,
        byte[] content,
        int clientCount = 1,
        ClientOptions? clientOptions = null,
        GatewayOptions? gatewayOptions = null)
    {
        _start = _clock.GetTimestamp();
        _random = new Random(seed);
        _network = new SimulatedNetwork(_random, conditions);
        byte[] key = new byte[32];
        _random.NextBytes(key);
        _gateway = new GatewayEndpoint(content, new KeyedSynCookies(key), gatewayOptions);
        _clientOptions = clientOptions ?? ClientOptions.Default;
        _clients = new ClientConnection?[clientCount + 1];
        _addresses = new SocketAddress[clientCount + 1];
        _startAt = new TimeSpan[clientCount + 1];
        _gatewayHeardAck = new bool[clientCount + 1];
        _completedAt = new TimeSpan?[clientCount + 1];
        for (int node = 1; node <= clientCount; node++)
        {
            _addresses[node] = new IPEndPoint(IPAddress.Loopback, 40000 + node).Serialize();
            _startAt[node] = TimeSpan.FromMilliseconds(_random.Next(0, 50 * clientCount));
        }
    }

    private TimeSpan Now => _clock.GetElapsedTime(_start);

    /// <summary>The network, to add targeted drops before <see cref="Run"/>.</summary>
    public SimulatedNetwork Network => _network;

    /// <summary>Restarts client <paramref name="node"/> with a new ISN, <paramref name="after"/> its start, as a rebooted device would.</summary>
    public void RestartClient(int node, TimeSpan after) => _restarts.Add((node, _startAt[node] + after));

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

    private void Deliver(Delivery delivery, TimeSpan now, List<string> violations)
    {
        if (delivery.To == Gateway)
        {
            if (SegmentHeader.TryRead(delivery.Datagram, out SegmentHeader header) && header.ControlFlags == SegmentFlags.Ack)
            {
                _gatewayHeardAck[delivery.From] = true;
            }

            int length = _gateway.HandleDatagram(_addresses[delivery.From], delivery.Datagram, now, _buffer);
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

        int answer = client.HandleDatagram(delivery.Datagram, now, _buffer);
        if (answer > 0)
        {
            _network.Send(delivery.To, Gateway, _buffer.AsSpan(0, answer), now);
        }
    }

    private void SendFromGateway(int to, int length, TimeSpan now, List<string> violations)
    {
        if (length > SegmentHeader.Size && !_gatewayHeardAck[to])
        {
            violations.Add($"the gateway sent data to client {to} before any handshake ACK from it");
        }

        _network.Send(Gateway, to, _buffer.AsSpan(0, length), now);
    }

    private void RunTimers(TimeSpan now, List<string> violations)
    {
        _gateway.HandleTimeout(now);
        while (_gateway.PollTransmit(_buffer, out int length, out SocketAddress? destination))
        {
            SendFromGateway(Array.IndexOf(_addresses, destination), length, now, violations);
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
