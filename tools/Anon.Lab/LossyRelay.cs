using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Anon.Lab;

/// <summary>
/// A UDP relay on 127.0.0.1 that drops datagrams at random, with a seed, in each direction: the
/// faulty network between a client and the gateway. Each client gets its own upstream socket, so the
/// gateway sees one address per client, as it would without the relay.
/// </summary>
public sealed class LossyRelay : IAsyncDisposable
{
    private readonly Socket _front;
    private readonly IPEndPoint _gateway;
    private readonly double _loss;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private readonly ConcurrentDictionary<IPEndPoint, Socket> _upstreams = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private long _dropped;
    private long _toClientsLeft = long.MaxValue;

    /// <param name="loss">Probability of dropping each datagram, in each direction.</param>
    public LossyRelay(IPEndPoint gateway, double loss, int seed, int port = 0)
    {
        _gateway = gateway;
        _loss = loss;
        _random = new Random(seed);
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
        foreach (Socket upstream in _upstreams.Values)
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
            Socket upstream = _upstreams.GetOrAdd(client, OpenUpstream);
            await ForwardAsync(upstream, buffer.AsMemory(0, received.ReceivedBytes), _gateway).ConfigureAwait(false);
        }
    }

    private Socket OpenUpstream(IPEndPoint client)
    {
        var upstream = new Socket(_gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        upstream.Connect(_gateway);
        lock (_loops)
        {
            _loops.Add(Task.Run(() => ForwardToClientAsync(upstream, client)));
        }

        return upstream;
    }

    private async Task ForwardToClientAsync(Socket upstream, IPEndPoint client)
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

            await ForwardAsync(_front, buffer.AsMemory(0, length), client).ConfigureAwait(false);
        }
    }

    private async Task ForwardAsync(Socket socket, ReadOnlyMemory<byte> datagram, IPEndPoint destination)
    {
        bool drop;
        lock (_randomLock)
        {
            drop = _random.NextDouble() < _loss;
        }

        if (drop)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        try
        {
            await socket.SendToAsync(datagram, SocketFlags.None, destination, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The relay is a network: a datagram it cannot pass on is lost.
        }
    }
}
