using System.Net;
using System.Security.Cryptography;
using Anon.Io;
using Anon.Ladder;
using Anon.Protocol;

namespace Anon.Client.Fetching;

/// <summary>One fetch of the page from the gateway, handshake to FIN: a <see cref="ClientConnection"/> driven by a <see cref="ClientLoop"/> of its own.</summary>
public sealed class PageFetch : IDisposable
{
    private readonly ClientLoop _loop;
    private readonly ClientConnection _connection;

    private PageFetch(ClientLoop loop, ClientConnection connection)
    {
        _loop = loop;
        _connection = connection;
    }

    /// <summary>The complete page.</summary>
    public ReadOnlyMemory<byte> Content => _connection.Content;

    /// <summary>Fetches the page; returns once it is complete.</summary>
    /// <exception cref="TransferFailedException">The transfer failed, or <paramref name="stop"/> ended it first.</exception>
    /// <param name="recorder">Also records every datagram for a ladder diagram, when given.</param>
    /// <param name="networkErrors">What to do about the socket's errors; by default retry through them.</param>
    public static PageFetch Run(
        IPEndPoint gateway, ClientOptions options, PacketLog log, uint? initialSequence, CancellationToken stop,
        LadderRecorder? recorder = null, NetworkErrors networkErrors = default)
    {
        var loop = new ClientLoop(gateway, log) { Recorder = recorder, NetworkErrors = networkErrors };
        try
        {
            var isn = new SequenceNumber(initialSequence ?? RandomInitialSequence());
            TimeSpan started = loop.Now;
            var connection = new ClientConnection(isn, started, options, static () => new SequenceNumber(RandomInitialSequence()));
            loop.Run(connection, untilClosed: false, stop);
            if (stop.IsCancellationRequested)
            {
                throw new TransferFailedException("stopped by signal before the transfer completed", failure: null);
            }

            if (loop.GaveUpOnRefusal && !connection.IsComplete)
            {
                throw new TransferFailedException($"gateway {gateway}: {ClientWords.NothingListens} (--fail-on-refusal)", failure: null);
            }

            if (!connection.IsComplete)
            {
                ClientFailure failure = connection.Failure ?? throw new InvalidOperationException("the transfer ended neither complete nor failed");
                throw new TransferFailedException($"gateway {gateway}: {PeerWords.Describe(failure)}{loop.NetworkErrorNote}", failure);
            }

            log.Event(ClientWords.Received(connection, loop.Now - started));
            return new PageFetch(loop, connection);
        }
        catch
        {
            loop.Dispose();
            throw;
        }
    }

    /// <summary>Stays to answer a retransmitted FIN, for as long as <see cref="ClientOptions.Linger"/> says.</summary>
    public void Linger(CancellationToken stop) => _loop.Run(_connection, untilClosed: true, stop);

    public void Dispose() => _loop.Dispose();

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
}
