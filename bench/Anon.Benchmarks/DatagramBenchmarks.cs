using System.Net;
using Anon.Protocol;
using BenchmarkDotNet.Attributes;

namespace Anon.Benchmarks;

/// <summary>The work each datagram costs in the core: codec, log line, one step of each state machine.</summary>
[MemoryDiagnoser]
public class DatagramBenchmarks
{
    private const int ContentLength = 64 * 1024 * 1024;

    private readonly byte[] _datagram = new byte[Segments.MaxDatagram];
    private readonly byte[] _answer = new byte[Segments.MaxDatagram];
    private readonly byte[] _logLine = new byte[PacketLogLine.MaxLength];
    private readonly PeerAddress _client = new PeerAddress(IPAddress.Loopback, 40000);
    private readonly byte[] _content = new byte[ContentLength];
    private GatewayEndpoint _gateway = null!;
    private ClientConnection _client2 = null!;
    private uint _clientSequence;
    private uint _gatewayAck;
    private uint _segmentSequence;
    private TimeSpan _now;

    [GlobalSetup]
    public void Setup()
    {
        new SegmentHeader(new SequenceNumber(101), new SequenceNumber(12347), SegmentFlags.Ack).WriteTo(_datagram);
        StartGatewayTransfer();
        StartClientTransfer();
    }

    [Benchmark]
    public SegmentHeader ParseHeader()
    {
        SegmentHeader.TryRead(_datagram, out SegmentHeader header);
        return header;
    }

    [Benchmark]
    public void WriteHeader() =>
        new SegmentHeader(new SequenceNumber(101), new SequenceNumber(12347), SegmentFlags.Ack | SegmentFlags.Fin).WriteTo(_answer);

    [Benchmark]
    public int FormatLogLine()
    {
        var header = new SegmentHeader(new SequenceNumber(3628332189), new SequenceNumber(270294608), SegmentFlags.Ack);
        return PacketLogLine.Format(_logLine, PacketDirection.Receive, header);
    }

    /// <summary>The gateway takes an acknowledgment and writes the next 512-byte segment.</summary>
    [Benchmark]
    public int GatewayAckToNextSegment()
    {
        _gatewayAck += Segments.MaxPayload;
        _now += TimeSpan.FromMicroseconds(100);
        new SegmentHeader(new SequenceNumber(_clientSequence++), new SequenceNumber(_gatewayAck), SegmentFlags.Ack).WriteTo(_datagram);
        int length = _gateway.HandleDatagram(_client, _datagram.AsSpan(0, SegmentHeader.Size), _now, _answer).AnswerLength;
        if (_gatewayAck > ContentLength - (2 * Segments.MaxPayload))
        {
            StartGatewayTransfer();
        }

        return length;
    }

    /// <summary>The client takes a 512-byte segment and writes its acknowledgment.</summary>
    [Benchmark]
    public int ClientSegmentToAck()
    {
        new SegmentHeader(new SequenceNumber(_segmentSequence), new SequenceNumber(5002), SegmentFlags.Ack).WriteTo(_answer);
        _segmentSequence += Segments.MaxPayload;
        int length = _client2.HandleDatagram(_answer, _now, _datagram).AnswerLength;
        if (_client2.Content.Length > 12 * 1024 * 1024)
        {
            StartClientTransfer();
        }

        return length;
    }

    private void StartGatewayTransfer()
    {
        _gateway = new GatewayEndpoint(_content, new FixedSynCookie(new SequenceNumber(100)), new GatewayOptions { NewConnectionsPerSecondPerSource = 0 });
        _clientSequence = 1000;
        new SegmentHeader(new SequenceNumber(_clientSequence++), new SequenceNumber(101), SegmentFlags.Ack).WriteTo(_datagram);
        _gateway.HandleDatagram(_client, _datagram.AsSpan(0, SegmentHeader.Size), _now, _answer);
        _gatewayAck = 101;
    }

    private void StartClientTransfer()
    {
        _client2 = new ClientConnection(new SequenceNumber(5000), _now, new ClientOptions { MaximumContentLength = int.MaxValue });
        _client2.PollTransmit(_answer, out _);
        new SegmentHeader(new SequenceNumber(100), new SequenceNumber(5001), SegmentFlags.Syn | SegmentFlags.Ack).WriteTo(_answer);
        _client2.HandleDatagram(_answer.AsSpan(0, SegmentHeader.Size), _now, _datagram);
        _segmentSequence = 101;
    }
}
