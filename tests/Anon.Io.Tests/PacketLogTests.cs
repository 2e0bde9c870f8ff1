using Anon.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Anon.Io.Tests;

public sealed class PacketLogTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"anon-log-{Guid.NewGuid():N}.log");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 21, 9, 19, 123, TimeSpan.Zero));

    [Fact]
    public void Writes_packet_lines_in_the_spec_format_and_events_with_a_timestamp()
    {
        using (PacketLog log = PacketLog.Open(_path, _time))
        {
            log.Packet(PacketDirection.Send, new SegmentHeader(new SequenceNumber(12345), default, SegmentFlags.Syn));
            log.Packet(PacketDirection.Receive, new SegmentHeader(new SequenceNumber(100), new SequenceNumber(12346), SegmentFlags.Syn | SegmentFlags.Ack));
            log.Packet(PacketDirection.Receive, new byte[5]); // too short for a header: not a packet line
            log.Event("connection opened");
        }

        Assert.Equal(
            ["SEND 12345 0 SYN", "RECV 100 12346 ACK SYN", "2026-11-24T21:09:19.123Z connection opened"],
            File.ReadAllLines(_path));
    }

    [Fact]
    public void Lines_reach_the_file_within_one_flush_interval_not_one_system_call_each()
    {
        using PacketLog log = PacketLog.Open(_path, _time, TimeSpan.FromMilliseconds(200));
        log.Event("first");

        Assert.Equal(0, new FileInfo(_path).Length);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(["2026-11-24T21:09:19.123Z first"], ReadShared());
    }

    [Fact]
    public void Flushing_on_write_sends_out_the_buffer_with_the_first_line_after_the_interval_and_starts_no_timer()
    {
        using PacketLog log = PacketLog.Open(_path, _time, TimeSpan.FromMilliseconds(200), LogFlushing.OnWrite);
        log.Event("first");
        _time.Advance(TimeSpan.FromMilliseconds(199));
        log.Event("second");

        Assert.Equal(0, new FileInfo(_path).Length);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, new FileInfo(_path).Length); // no timer: time alone writes nothing
        log.Event("third");
        Assert.Equal(3, ReadShared().Length);
        log.Event("fourth"); // the interval starts again at that flush
        Assert.Equal(3, ReadShared().Length);
    }

    [Fact]
    public void A_rotated_log_is_followed_by_a_new_file_at_its_path_within_one_flush_interval()
    {
        string rotated = _path + ".1";
        try
        {
            using PacketLog log = PacketLog.Open(_path, _time, TimeSpan.FromMilliseconds(200));
            log.Event("before");
            _time.Advance(TimeSpan.FromMilliseconds(200));
            File.Move(_path, rotated); // logrotate with nocreate
            log.Event("during");       // still into the renamed file: the next flush writes it there
            _time.Advance(TimeSpan.FromMilliseconds(200));
            log.Event("after");
            _time.Advance(TimeSpan.FromMilliseconds(200));

            Assert.Equal(["2026-11-24T21:09:19.123Z before", "2026-11-24T21:09:19.323Z during"], ReadShared(rotated));
            Assert.Equal(["2026-11-24T21:09:19.523Z after"], ReadShared());
        }
        finally
        {
            File.Delete(rotated);
        }
    }

    [Fact]
    public void Appends_to_an_existing_log()
    {
        File.WriteAllText(_path, "earlier line\n");
        using (PacketLog log = PacketLog.Open(_path, _time))
        {
            log.Event("later");
        }

        Assert.Equal(["earlier line", "2026-11-24T21:09:19.123Z later"], File.ReadAllLines(_path));
    }

    [Fact]
    public void A_log_that_cannot_be_opened_is_a_clear_failure_of_its_own_kind()
    {
        // A FileWriteException: exit code 73 (ExitCodesTests).
        var failure = Assert.Throws<FileWriteException>(() => PacketLog.Open("/nonexistent-dir/x.log"));

        Assert.Equal("cannot write the log file '/nonexistent-dir/x.log': the folder '/nonexistent-dir' does not exist", failure.Message);
    }

    [Fact]
    public void A_full_disk_stops_the_log_once_with_one_line_on_stderr_but_never_its_writer()
    {
        // Linux's /dev/full fails every write with ENOSPC; the programs run on Linux only.
        Assert.True(File.Exists("/dev/full"), "no /dev/full on this machine");
        var stderr = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(stderr);
        try
        {
            using PacketLog log = PacketLog.Open("/dev/full", _time);
            var header = new SegmentHeader(new SequenceNumber(1), new SequenceNumber(2), SegmentFlags.Ack);
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < 10_000; i++)
                {
                    log.Packet(PacketDirection.Send, header); // more than the 64 KiB buffer each round
                }

                log.Event("a round written");
                log.Flush();
                _time.Advance(TimeSpan.FromSeconds(1));
            }
        }
        finally
        {
            Console.SetError(original);
        }

        // Stopped at the first failure: the message once, not once per flush that tried again.
        string[] lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("cannot write the log any more, continuing without it: ", lines[0], StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_path);

    private string[] ReadShared(string? path = null)
    {
        using var stream = new FileStream(path ?? _path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
