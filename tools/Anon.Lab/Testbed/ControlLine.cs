using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Anon.Lab.Testbed;

/// <summary>
/// The host's end of an emulated Pi's control line: its first UART, which QEMU connects to a Unix
/// socket here, and <c>testbed-agent</c> in the guest (tools/testbed/guest). No network reaches it,
/// so driving the device Pi through it leaves the Pi cut off from everything but the device network.
/// <list type="bullet">
/// <item>At each boot the guest asks <c>CLOCK?</c> and is answered <c>CLOCK SECONDS</c>, the host's
/// time (a Pi keeps no time while off; this stands in for NTP), then says <c>AGENT READY BOOT-ID</c>.</item>
/// <item>A command is <c>ID LIMIT BASE64-SCRIPT</c>; the answer <c>BEGIN ID</c>, the output in
/// base64 on one line, <c>END ID STATUS</c>. The guest cuts a script at LIMIT seconds (status 124).</item>
/// </list>
/// The line outlives the Pi's reboots: when one QEMU of the Pi ends and the next makes the socket
/// again, the line connects to it anew; a command the Pi had not answered then fails.
/// </summary>
internal sealed class ControlLine : IAsyncDisposable
{
    private readonly string _socketPath;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private readonly object _gate = new();
    private readonly TextWriter _transcript;
    private TaskCompletionSource<string> _nextBoot = NewCompletion<string>();
    private Socket? _socket;
    private Pending? _pending;
    private int _nextId;

    private ControlLine(string socketPath, TextWriter transcript)
    {
        _socketPath = socketPath;
        _transcript = transcript;
        _reading = Task.Run(ConnectAndReadAsync);
    }

    /// <summary>The boot id the agent gave last (<c>/proc/sys/kernel/random/boot_id</c>); null before the first boot.</summary>
    public string? BootId { get; private set; }

    /// <summary>Connects to the socket QEMU serves the UART on, waiting up to <paramref name="timeout"/> for QEMU to make it.</summary>
    /// <param name="transcript">Gets a line per command sent and answer received, with the host's time.</param>
    public static async Task<ControlLine> ConnectAsync(string socketPath, TextWriter transcript, TimeSpan timeout, CancellationToken cancel)
    {
        var line = new ControlLine(socketPath, transcript);
        try
        {
            await line._firstConnection.Task.WaitAsync(timeout, cancel).ConfigureAwait(false);
            return line;
        }
        catch
        {
            await line.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits for the agent of a boot other than <paramref name="previousBootId"/> (any boot, if null); returns its boot id.</summary>
    public async Task<string> WaitForBootAsync(string? previousBootId, CancellationToken cancel)
    {
        while (true)
        {
            Task<string> next;
            lock (_gate)
            {
                if (BootId is { } current && current != previousBootId)
                {
                    return current;
                }

                next = _nextBoot.Task;
            }

            await next.WaitAsync(cancel).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="script"/> with bash as root in the guest, cut there after <paramref name="limit"/>.</summary>
    /// <exception cref="TimeoutException">No answer came within the limit and a margin for the line.</exception>
    public async Task<GuestResult> RunAsync(string script, TimeSpan limit, CancellationToken cancel)
    {
        await _oneAtATime.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            string id = (++_nextId).ToString(CultureInfo.InvariantCulture);
            var pending = new Pending(id, NewCompletion<GuestResult>());
            lock (_gate)
            {
                _pending = pending;
            }

            int seconds = Math.Max(1, (int)Math.Ceiling(limit.TotalSeconds));
            string request = $"{id} {seconds} {Convert.ToBase64String(Encoding.UTF8.GetBytes(script))}\n";
            Record($"> [{id}] {FirstLine(script)}");
            await SendAsync(request, cancel).ConfigureAwait(false);

            // The guest's own limit, then time for the agent to answer over an emulated UART.
            try
            {
                return await pending.Completion.Task.WaitAsync(limit + TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no answer from the agent within {limit.TotalSeconds + 30:0} s to: {FirstLine(script)}");
            }
        }
        finally
        {
            lock (_gate)
            {
                _pending = null;
            }

            _oneAtATime.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            _socket?.Dispose();
        }

        try
        {
            await _reading.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // closed under the reader: its end
        }

        _closing.Dispose();
        _oneAtATime.Dispose();
        _sending.Dispose();
    }

    /// <summary>Connects (again, each time the Pi's QEMU starts anew) and reads what the guest says, until disposed.</summary>
    private async Task ConnectAndReadAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), _closing.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                socket.Dispose();
                await Task.Delay(100, _closing.Token).ConfigureAwait(false);
                continue;
            }

            lock (_gate)
            {
                _socket = socket;
            }

            _firstConnection.TrySetResult();
            try
            {
                await ReadLinesAsync(socket).ConfigureAwait(false);
            }
            catch (IOException) when (!_closing.IsCancellationRequested)
            {
                // the connection broke: as at its end
            }

            lock (_gate)
            {
                _socket = null;
            }

            socket.Dispose();
            if (!_closing.IsCancellationRequested)
            {
                Record("< (the line closed: the Pi's QEMU ended)");
                FailPending(new GuestRebootedException("the Pi went down before it answered"));
            }
        }
    }

    private async Task ReadLinesAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string? begun = null;
        string? output = null;
        while (await reader.ReadLineAsync(_closing.Token).ConfigureAwait(false) is { } raw)
        {
            string line = raw.TrimEnd('\r');
            if (line == "CLOCK?")
            {
                double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
                await SendAsync(string.Create(CultureInfo.InvariantCulture, $"CLOCK {now:0.000}\n"), _closing.Token).ConfigureAwait(false);
                Record("< CLOCK? (answered with the host's time)");
            }
            else if (line.StartsWith("AGENT READY ", StringComparison.Ordinal))
            {
                Booted(line["AGENT READY ".Length..].Trim());
            }
            else if (line.StartsWith("BEGIN ", StringComparison.Ordinal))
            {
                begun = line["BEGIN ".Length..];
                output = null;
            }
            else if (begun is not null && output is null)
            {
                output = line;
            }
            else if (begun is not null && line.StartsWith($"END {begun} ", StringComparison.Ordinal)
                && int.TryParse(line[$"END {begun} ".Length..], CultureInfo.InvariantCulture, out int status))
            {
                Answered(begun, status, Decode(output!));
                begun = null;
            }
        }
    }

    /// <summary>One line to the guest, whole: a command and the clock's answer never interleave.</summary>
    private async Task SendAsync(string line, CancellationToken cancel)
    {
        await _sending.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            Socket socket;
            lock (_gate)
            {
                socket = _socket ?? throw new GuestRebootedException("the Pi is down: its QEMU is not running");
            }

            byte[] bytes = Encoding.ASCII.GetBytes(line);
            for (int sent = 0; sent < bytes.Length;)
            {
                sent += await socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancel).ConfigureAwait(false);
            }
        }
        catch (SocketException e)
        {
            throw new GuestRebootedException($"the Pi went down while a line was sent to it ({e.Message})");
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The answer's output; a line the UART garbled is said as such, not thrown at the reader.</summary>
    private static string Decode(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return $"(the answer was garbled on the control line: {base64.Length} characters that are not base64)";
        }
    }

    private void Booted(string bootId)
    {
        Record($"< AGENT READY (boot {bootId})");
        TaskCompletionSource<string> booted;
        Pending? lost;
        lock (_gate)
        {
            BootId = bootId;
            booted = _nextBoot;
            _nextBoot = NewCompletion<string>();
            lost = _pending;
        }

        booted.TrySetResult(bootId);
        // A command sent before a reboot is never answered: its agent is gone.
        lost?.Completion.TrySetException(new GuestRebootedException($"the Pi rebooted before it answered command {lost.Id}"));
    }

    private void FailPending(Exception failure)
    {
        Pending? pending;
        lock (_gate)
        {
            pending = _pending;
        }

        pending?.Completion.TrySetException(failure);
    }

    private void Answered(string id, int status, string output)
    {
        Record($"< [{id}] exit {status}, {output.Length} characters");
        Pending? pending;
        lock (_gate)
        {
            pending = _pending;
        }

        if (pending?.Id == id)
        {
            pending.Completion.TrySetResult(new GuestResult(status, output));
        }
    }

    /// <summary>Adds a line, with the time, to the transcript of the line (ROLE-control.log).</summary>
    public void Record(string line)
    {
        lock (_transcript)
        {
            _transcript.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}");
            _transcript.Flush();
        }
    }

    private static string FirstLine(string script)
    {
        string first = script.Split('\n', 2)[0].Trim();
        return first.Length > 120 ? first[..120] + "…" : first;
    }

    private static TaskCompletionSource<T> NewCompletion<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Pending(string Id, TaskCompletionSource<GuestResult> Completion);
}

/// <summary>What a script run in the guest ended with: its exit status and its output, stdout and stderr together.</summary>
internal sealed record GuestResult(int Status, string Output)
{
    public bool Succeeded => Status == 0;
}

/// <summary>The guest rebooted while a command ran.</summary>
internal sealed class GuestRebootedException(string message) : Exception(message);
