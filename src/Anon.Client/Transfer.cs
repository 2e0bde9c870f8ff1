using System.Net;
using System.Security.Cryptography;
using Anon.Io;
using Anon.Ladder;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>One fetch of the page from the gateway, handshake to FIN, over a socket of its own.</summary>
public sealed class Transfer : IDisposable
{
    private readonly ClientSession _session;
    private readonly ClientConnection _connection;

    private Transfer(ClientSession session, ClientConnection connection)
    {
        _session = session;
        _connection = connection;
    }

    /// <summary>The complete page.</summary>
    public ReadOnlyMemory<byte> Content => _connection.Content;

    /// <summary>Fetches the page; returns once it is complete.</summary>
    /// <exception cref="CommandFailedException">The transfer failed or was stopped (exit code 69).</exception>
    /// <param name="recorder">Also records every datagram for a ladder diagram, when given.</param>
    public static Transfer Run(
        IPEndPoint gateway, ClientOptions options, PacketLog log, uint? initialSequence, CancellationToken stop, LadderRecorder? recorder = null)
    {
        var session = new ClientSession(gateway, log) { Recorder = recorder };
        try
        {
            var isn = new SequenceNumber(initialSequence ?? RandomInitialSequence());
            TimeSpan started = session.Now;
            var connection = new ClientConnection(isn, started, options);
            session.Run(connection, untilClosed: false, stop);
            if (stop.IsCancellationRequested)
            {
                throw new CommandFailedException(ExitCodes.Unavailable, "stopped by signal before the transfer completed");
            }

            if (!connection.IsComplete)
            {
                throw new CommandFailedException(
                    ExitCodes.Unavailable, $"gateway {gateway}: {connection.FailureReason}{session.NetworkErrorNote}");
            }

            ClientStatistics statistics = connection.Statistics;
            log.Event(
                $"received {connection.Content.Length} bytes in {(session.Now - started).TotalMilliseconds:0.000} ms " +
                $"(handshake round trip {statistics.HandshakeRoundTripTime?.TotalMilliseconds:0.000} ms, " +
                $"{statistics.Retransmissions} retransmissions, {statistics.DuplicateSegments} duplicate segments, {statistics.Dropped} dropped)" +
                (statistics.Leniencies == PeerLeniency.None ? "" : $"; accepted from this gateway: {PeerWords.Describe(statistics.Leniencies)}"));
            return new Transfer(session, connection);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An unpredictable ISN (PROTOCOL.md "Handshake"). From the kernel's generator directly: on Linux
    /// <see cref="RandomNumberGenerator"/> loads OpenSSL, whose start-up cost is several times the
    /// whole transfer, for four bytes.
    /// </summary>
    private static uint RandomInitialSequence()
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle urandom = File.OpenHandle("/dev/urandom");
            if (RandomAccess.Read(urandom, bytes, 0) == bytes.Length)
            {
                return BitConverter.ToUInt32(bytes);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Not Linux, or no /dev/urandom: the portable generator.
        }

        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt32(bytes);
    }

    /// <summary>Stays to answer a retransmitted FIN, for as long as <see cref="ClientOptions.Linger"/> says.</summary>
    public void Linger(CancellationToken stop) => _session.Run(_connection, untilClosed: true, stop);

    public void Dispose() => _session.Dispose();
}
