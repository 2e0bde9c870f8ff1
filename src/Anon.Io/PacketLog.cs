using System.Globalization;
using System.Text;
using Anon.Protocol;

namespace Anon.Io;

/// <summary>
/// The log file both programs keep: one line per datagram in the spec's format, and timestamped
/// lines for everything else (which therefore never begin with RECV or SEND).
/// </summary>
/// <remarks>
/// Lines go into a buffer, written out every <c>flushInterval</c> and on <see cref="Dispose"/>: a
/// killed process loses at most that much time of log, and a busy gateway pays no system call per
/// datagram. A packet line allocates nothing. Long-running programs flush from a timer, so that an
/// idle gateway's last lines reach the file too; a one-shot client flushes from its own writes
/// instead (<see cref="LogFlushing.OnWrite"/>): a timer starts a thread, which costs the client
/// more start-up time than its whole transfer takes on the network.
///
/// A long-running program's log may be rotated (logrotate renames it, `nocreate`): each timed
/// flush checks that the path still names a file and, once it does not, writes on into a new file
/// there. So rotation needs no signal and no `copytruncate` (which a writer that tracks its own
/// offset, as .NET's FileStream does, would fill with zeros up to that offset).
/// </remarks>
public sealed class PacketLog : IDisposable
{
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly string? _path;
    private readonly int _bufferSize;
    private Stream _stream;
    private readonly TimeProvider _time;
    private readonly ITimer? _flushTimer;
    private readonly TimeSpan _flushOnWriteInterval;
    private long _lastFlush;
    private bool _disposed;
    private bool _failed;

    private PacketLog(Stream stream, string? path, int bufferSize, TimeProvider time, TimeSpan flushInterval, LogFlushing flushing)
    {
        _stream = stream;
        _path = path;
        _bufferSize = bufferSize;
        _time = time;
        _lastFlush = time.GetTimestamp();
        if (flushInterval > TimeSpan.Zero && flushing == LogFlushing.Timer)
        {
            _flushTimer = time.CreateTimer(_ => FlushAndFollowRotation(), null, flushInterval, flushInterval);
        }
        else if (flushInterval > TimeSpan.Zero)
        {
            _flushOnWriteInterval = flushInterval;
        }
    }

    /// <summary>Opens (appends to) the log file, creating it if needed.</summary>
    /// <param name="flushInterval">The longest a line waits in the buffer; zero: until <see cref="Flush"/>, a full buffer or <see cref="Dispose"/>.</param>
    /// <param name="flushing">What flushes after that interval: a timer (the default), or the next line written.</param>
    /// <exception cref="FileWriteException">The file cannot be opened for writing.</exception>
    public static PacketLog Open(string path, TimeProvider? time = null, TimeSpan? flushInterval = null, LogFlushing flushing = LogFlushing.Timer)
    {
        try
        {
            // A one-shot client writes a few kilobytes in all; a gateway writes on and on.
            int bufferSize = flushing == LogFlushing.OnWrite ? 4096 : 64 * 1024;
            return new PacketLog(OpenFile(path, bufferSize), path, bufferSize, time ?? TimeProvider.System, flushInterval ?? DefaultFlushInterval, flushing);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw FileWriteException.Creating("the log file", path, e);
        }
    }

    /// <summary>Logs one datagram: <c>RECV|SEND seq ack [ACK] [SYN] [FIN]</c>.</summary>
    public void Packet(PacketDirection direction, in SegmentHeader header)
    {
        Span<byte> line = stackalloc byte[PacketLogLine.MaxLength + 1];
        int length = PacketLogLine.Format(line, direction, header);
        line[length++] = (byte)'\n';
        WriteLine(line[..length]);
    }

    /// <summary>Logs the header of a datagram given as bytes; a datagram too short for a header is not a packet line.</summary>
    public void Packet(PacketDirection direction, ReadOnlySpan<byte> datagram)
    {
        if (SegmentHeader.TryRead(datagram, out SegmentHeader header))
        {
            Packet(direction, header);
        }
    }

    /// <summary>Logs an event: <c>2026-11-24T21:09:19.123Z message</c>.</summary>
    public void Event(string message)
    {
        string line = string.Create(
            CultureInfo.InvariantCulture, $"{_time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {message}\n");
        WriteLine(Encoding.UTF8.GetBytes(line));
    }

    public void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    /// <summary>
    /// The timer's flush; then, if the log was renamed or deleted (rotated), a new file at its path.
    /// Lines written meanwhile went to the old file, which a rotation's <c>delaycompress</c> leaves
    /// uncompressed until the next one.
    /// </summary>
    private void FlushAndFollowRotation()
    {
        lock (_lock)
        {
            FlushLocked();
            if (_disposed || _failed || _path is null || File.Exists(_path))
            {
                return;
            }

            try
            {
                Stream rotated = _stream;
                _stream = OpenFile(_path, _bufferSize);
                rotated.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Fail(new IOException($"cannot reopen '{_path}' after it was rotated: {e.Message}", e));
            }
        }
    }

    private static FileStream OpenFile(string path, int bufferSize) =>
        new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize);

    public void Dispose()
    {
        _flushTimer?.Dispose();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            FlushLocked();
            _disposed = true;
            try
            {
                _stream.Dispose();
            }
            catch (IOException)
            {
                // Only after a failed write, whose bytes the stream still tries to flush; reported already.
            }
        }
    }

    private void WriteLine(ReadOnlySpan<byte> line)
    {
        lock (_lock)
        {
            if (_disposed || _failed)
            {
                return;
            }

            try
            {
                _stream.Write(line);
            }
            catch (IOException e)
            {
                Fail(e);
                return;
            }

            if (_flushOnWriteInterval > TimeSpan.Zero && _time.GetElapsedTime(_lastFlush) >= _flushOnWriteInterval)
            {
                FlushLocked();
            }
        }
    }

    private void FlushLocked()
    {
        if (_disposed || _failed)
        {
            return;
        }

        _lastFlush = _time.GetTimestamp();
        try
        {
            _stream.Flush();
        }
        catch (IOException e)
        {
            Fail(e);
        }
    }

    /// <summary>
    /// A full disk or a vanished file must not stop a gateway that serves devices: the first failure
    /// is reported on stderr, and logging stops.
    /// </summary>
    private void Fail(IOException e)
    {
        _failed = true;
        Console.Error.WriteLine($"cannot write the log any more, continuing without it: {e.Message}");
    }
}

/// <summary>What writes a <see cref="PacketLog"/>'s buffer out once its flush interval has passed.</summary>
public enum LogFlushing
{
    /// <summary>A timer, whether or not anything is written: for programs that run on and on.</summary>
    Timer,

    /// <summary>The next line written, on the writer's thread: for a short run that should start no thread.</summary>
    OnWrite,
}
