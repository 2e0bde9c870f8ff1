using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Anon.Lab.Faults;

namespace Anon.Lab;

/// <summary>
/// A UDP relay on 127.0.0.1: the faulty network between clients and a gateway. It drops datagrams
/// at random, with a seed, in each direction, or applies any other <see cref="Fault"/>s to each
/// client's connection, as the suite's peers do. Each client gets its own upstream socket, so the
/// gateway sees one address per client, as it would without the relay.
/// </summary>
public sealed class LossyRelay : IAsyncDisposable
{
    private readonly Socket _front;
    private readonly IPEndPoint _gateway;
    private readonly FaultPlan _faults;
    private readonly ConcurrentDictionary<IPEndPoint, (Socket Upstream, FaultyConnection Network)> _clients = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private long _dropped;
    private long _toClientsLeft = long.MaxValue;

    /// <param name="loss">Probability of dropping each datagram, in each direction.</param>
    public LossyRelay(IPEndPoint gateway, double loss, int seed, int port = 0)
        : this(gateway, [new RandomLoss(loss, seed)], port)
    {
    }

    /// <param name="faults">What the network does to each client's datagrams, either way.</param>
    public LossyRelay(IPEndPoint gateway, IReadOnlyList<Fault> faults, int port = 0)
    {
        _gateway = gateway;
        _faults = new FaultPlan(faults);
        _front = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _front.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _loops.Add(Task.Run(ForwardFromClientsAsync));
    }

    /// <summary>Where clients send to.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_front.LocalEndPoint!;

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Passes <paramref name="segments"/> more datagrams with a payload toward the clients (and those
    /// without one in between), then drops every datagram until <see cref="Release"/>: a transfer cut
    /// at a known point, however fast it runs.
    /// </summary>
    public void CutToClientsAfter(int segments) => Interlocked.Exchange(ref _toClientsLeft, segments);

    /// <summary>Whether a cut has come: every segment it let through has gone.</summary>
    public bool HasCut => Interlocked.Read(ref _toClientsLeft) <= 0;

    /// <summary>Passes datagrams toward the clients again (subject to the loss).</summary>
    public void Release() => Interlocked.Exchange(ref _toClientsLeft, long.MaxValue);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _front.Dispose();
        foreach ((Socket upstream, _) in _clients.Values)
        {
            upstream.Dispose();
        }

        Task[] loops;
        lock (_loops)
        {
            loops = [.. _loops];
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task ForwardFromClientsAsync()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _front.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            var client = (IPEndPoint)received.RemoteEndPoint;
            (Socket upstream, FaultyConnection network) = _clients.GetOrAdd(client, OpenUpstream);
            Forward(network, Way.ToGateway, buffer.AsSpan(0, received.ReceivedBytes).ToArray(), upstream, _gateway);
        }
    }

    private (Socket, FaultyConnection) OpenUpstream(IPEndPoint client)
    {
        var upstream = new Socket(_gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        upstream.Connect(_gateway);
        var network = new FaultyConnection(_faults);
        lock (_loops)
        {
            _loops.Add(Task.Run(() => ForwardToClientAsync(upstream, network, client)));
        }

        return (upstream, network);
    }

    private async Task ForwardToClientAsync(Socket upstream, FaultyConnection network, IPEndPoint client)
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await upstream.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue; // an ICMP error from the gateway's side: keep relaying
            }

            if (Interlocked.Read(ref _toClientsLeft) <= 0 || (length > Anon.Protocol.SegmentHeader.Size && Interlocked.Decrement(ref _toClientsLeft) < 0))
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }

            Forward(network, Way.ToClient, buffer.AsSpan(0, length).ToArray(), _front, client);
        }
    }

    /// <summary>Passes a datagram through the client's faulty network, then on to <paramref name="destination"/>.</summary>
    private void Forward(FaultyConnection network, Way way, byte[] datagram, Socket socket, IPEndPoint destination)
    {
        bool lost = network.Pass(way, datagram, passed =>
        {
            try
            {
                socket.SendTo(passed, SocketFlags.None, destination);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // The relay is a network: a datagram it cannot pass on is lost.
            }
        }).Lost;
        if (lost)
        {
            Interlocked.Increment(ref _dropped);
        }
    }
}
