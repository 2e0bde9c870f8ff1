using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Anon.Lab.Faults;
using Anon.Protocol;

namespace Anon.Lab.Conformance;

/// <summary>
/// The suite's client end against a gateway under test: one UDP socket connected to it, datagrams
/// sent and received one at a time, every one kept in order for the report.
/// </summary>
public sealed class Probe : IDisposable
{
    private readonly Socket _socket;
    private readonly IPEndPoint _gateway;
    private readonly bool _fromAnyone;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly byte[] _buffer = new byte[65536];
    private readonly Queue<byte[]> _arrived = new();
    private EndPoint _source;
    private FaultyConnection? _network;

    /// <param name="fromAnyone">
    /// A broken client's socket: not connected, so that datagrams from any address and port are read
    /// as the gateway's.
    /// </param>
    public Probe(IPEndPoint gateway, bool fromAnyone = false)
    {
        _gateway = gateway;
        _fromAnyone = fromAnyone;
        _source = new IPEndPoint(gateway.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        _socket = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (fromAnyone)
        {
            _socket.Bind(_source);
        }
        else
        {
            _socket.Connect(gateway);
        }
    }

    /// <summary>Every datagram received, in order, runts left out.</summary>
    public List<Datagram> Received { get; } = [];

    /// <summary>Datagrams received that were shorter than the header.</summary>
    public int Runts { get; private set; }

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>A line per datagram sent or received, in the spec's log format.</summary>
    public List<string> PacketLines { get; } = [];

    /// <summary>
    /// From now on, the datagrams sent and received pass a network with these faults (a lost ACK, a
    /// segment lost on its way here...), as if they were between the gateway and this end; none when empty.
    /// </summary>
    public void UseFaults(IReadOnlyList<Fault> faults)
    {
        _network = faults.Count == 0 ? null : new FaultyConnection(new FaultPlan(faults));
        LostOnTheWay.Clear();
    }

    /// <summary>Datagrams the gateway sent that the faults of <see cref="UseFaults"/> lost on their way here, in order.</summary>
    public List<Datagram> LostOnTheWay { get; } = [];

    public void Send(uint seq, uint ack, SegmentFlags flags) => SendRaw(Datagram.Build(seq, ack, flags));

    public void SendRaw(byte[] datagram)
    {
        if (_network is null)
        {
            SendNow(datagram);
        }
        else
        {
            _network.Pass(Way.ToGateway, datagram, SendNow);
        }
    }

    private void SendNow(byte[] datagram)
    {
        if (SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            PacketLines.Add(PacketLogLine.Format(PacketDirection.Send, header));
        }

        try
        {
            if (_fromAnyone)
            {
                _socket.SendTo(datagram, _gateway);
            }
            else
            {
                _socket.Send(datagram);
            }
        }
        catch (SocketException)
        {
            // An ICMP error for an earlier datagram (the gateway is not there): the receive times out.
        }
    }

    /// <summary>The next datagram within <paramref name="timeout"/>, or null.</summary>
    public Datagram? Receive(TimeSpan timeout)
    {
        TimeSpan deadline = Now + timeout;
        while (true)
        {
            if (!_arrived.TryDequeue(out byte[]? raw))
            {
                TimeSpan left = deadline - Now;
                if (left <= TimeSpan.Zero || !_socket.Poll(left, SelectMode.SelectRead))
                {
                    return null;
                }

                int length;
                try
                {
                    length = _fromAnyone ? _socket.ReceiveFrom(_buffer, ref _source) : _socket.Receive(_buffer);
                }
                catch (SocketException)
                {
                    continue; // port unreachable for an earlier datagram: keep waiting until the deadline
                }

                raw = _buffer.AsSpan(0, length).ToArray();
                if (_network is null)
                {
                    _arrived.Enqueue(raw);
                }
                else
                {
                    if (_network.Pass(Way.ToClient, raw, _arrived.Enqueue).Lost && Datagram.Parse(raw, Now) is { } lost)
                    {
                        LostOnTheWay.Add(lost);
                    }
                }

                continue;
            }

            if (Datagram.Parse(raw, Now) is { } datagram)
            {
                Received.Add(datagram);
                PacketLines.Add(PacketLogLine.Format(PacketDirection.Receive, datagram.Header));
                return datagram;
            }

            Runts++;
        }
    }

    /// <summary>The next datagram that <paramref name="match"/> accepts within <paramref name="timeout"/>; others are skipped.</summary>
    public Datagram? ReceiveWhere(Func<Datagram, bool> match, TimeSpan timeout)
    {
        TimeSpan deadline = Now + timeout;
        while (Receive(deadline - Now) is { } datagram)
        {
            if (match(datagram))
            {
                return datagram;
            }
        }

        return null;
    }

    /// <summary>Everything that arrives within <paramref name="window"/>.</summary>
    public List<Datagram> Drain(TimeSpan window)
    {
        var all = new List<Datagram>();
        TimeSpan deadline = Now + window;
        while (Receive(deadline - Now) is { } datagram)
        {
            all.Add(datagram);
        }

        return all;
    }

    /// <summary>Every datagram already waiting in the socket, without waiting for more.</summary>
    public List<Datagram> DrainWaiting()
    {
        var all = new List<Datagram>();
        while ((_arrived.Count > 0 || _socket.Available > 0) && Receive(TimeSpan.FromMilliseconds(1)) is { } datagram)
        {
            all.Add(datagram);
        }

        return all;
    }

    public void Dispose() => _socket.Dispose();
}
