using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Anon.Lab;
using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>How long and how hard a soak runs (<c>anon-load soak</c>).</summary>
/// <param name="Duration">The load, warm-up included; the cool-down comes after.</param>
/// <param name="WarmUpTransfers">
/// Samples before this many transfers are not held to the RSS bound: the GC's heap grows to its
/// working size as the transfers allocate, so the warm-up is counted in transfers, not seconds, and
/// holds on a slower machine too.
/// </param>
/// <param name="SampleEvery">How often the gateway's figures are read.</param>
/// <param name="FloodEvery">A flood starts this long after the previous one (the first at half of it).</param>
/// <param name="FloodLength">How long each flood lasts.</param>
/// <param name="FloodRate">Datagrams a second during a flood: SYNs and a share of random garbage.</param>
/// <param name="RssBound">How far above its size at the end of the warm-up the gateway's RSS may go (0.10: 10 %).</param>
/// <param name="Gateway">The gateway program to soak.</param>
internal sealed record SoakSettings(
    TimeSpan Duration,
    int WarmUpTransfers,
    TimeSpan SampleEvery,
    int Sessions,
    SessionFaults Faults,
    TimeSpan FloodEvery,
    TimeSpan FloodLength,
    int FloodRate,
    double RssBound,
    string Gateway);

/// <summary>The gateway's figures at one moment of a soak.</summary>
internal sealed record SoakSample(
    double Seconds, string Phase, long RssKiB, int Descriptors, int Threads, int OpenConnections, int ArmedTimers, int TimerQueueEntries, long TransfersCompleted);

/// <summary>
/// The gateway held for a long time under the load devices put on it: transfers without end from
/// batched sessions through loss, devices that restart mid-transfer or vanish, and a flood of SYNs
/// and garbage now and then; its memory, descriptors, threads, connections and timers sampled
/// throughout. Then the load stops, and what the load held must be given back.
/// </summary>
internal static class Soak
{
    /// <summary>How long the cool-down may take: the gateway gives a vanished device up after its retransmissions (about 9.3 s).</summary>
    private static readonly TimeSpan CoolDownLimit = TimeSpan.FromSeconds(60);

    /// <summary>How many more threads than the warm-up needed the rest of the run may have: the pool's workers vary by one or two.</summary>
    private const int ThreadsAboveWarmUp = 2;

    /// <summary>The longest datagram of random bytes in a flood: longer than any the protocol sends.</summary>
    private const int GarbageMaximum = 600;

    public static async Task<(List<SoakSample> Samples, List<(double From, double To)> Floods, List<SoakCheck> Checks, string Summary)> RunAsync(
        SoakSettings settings, TextWriter progress)
    {
        string work = Directory.CreateTempSubdirectory("anon-soak-").FullName;
        await using PageServer web = await PageServer.StartAsync();
        web.ServeDirectory(Programs.FixturesDirectory);
        int statusPort = LocalPorts.FreeTcp();
        var status = new Uri($"http://127.0.0.1:{statusPort}/status.json");
        await using GatewayProcess gateway = await GatewayProcess.StartProgramAsync(
            settings.Gateway, new Uri(web.BaseAddress, "LIGHTON_COMMAND"), Path.Combine(work, "gateway.log"), 0,
            "--max-connection-rate", "0", "--status", $"127.0.0.1:{statusPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var target = new IPEndPoint(IPAddress.Loopback, gateway.Port);
        var clock = Stopwatch.StartNew();
        var samples = new List<SoakSample>();
        var floods = new List<(double From, double To)>();

        await Task.Delay(TimeSpan.FromSeconds(2)); // the status page has its first figures
        SoakSample baseline = await SampleAsync(gateway.ProcessId, http, status, clock, "baseline");
        samples.Add(baseline);
        progress.WriteLine(Describe(baseline));

        byte[] page = File.ReadAllBytes(Path.Combine(Programs.FixturesDirectory, "LIGHTON_COMMAND"));
        var recorder = new Recorder(page);
        var options = new ClientOptions { IdleTimeout = TimeSpan.FromSeconds(10) };
        BatchedSessions.FaultCounts? load = null;
        recorder.Start();
        Task loading = Task.Factory.StartNew(
            () => load = BatchedSessions.Run(target, settings.Sessions, settings.Duration, options, recorder, settings.Faults),
            TaskCreationOptions.LongRunning);
        Task flooding = Task.Factory.StartNew(() => Flood(target, settings, clock, floods), TaskCreationOptions.LongRunning);

        while (!loading.IsCompleted)
        {
            await Task.WhenAny(loading, Task.Delay(settings.SampleEvery));
            if (loading.IsCompleted)
            {
                break;
            }

            SoakSample sample = await SampleAsync(gateway.ProcessId, http, status, clock, "");
            string phase = sample.TransfersCompleted < settings.WarmUpTransfers ? "warm-up" : "load";
            sample = sample with { Phase = InFlood(floods, clock, settings.SampleEvery) ? phase + "+flood" : phase };
            samples.Add(sample);
            progress.WriteLine(Describe(sample));
        }

        await loading;
        await flooding;
        recorder.Stop();

        // The load has stopped: the connections it left (vanished devices, unconfirmed closes) are
        // given up after their retransmissions, and everything they held must be given back.
        var coolDown = Stopwatch.StartNew();
        SoakSample last;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            last = await SampleAsync(gateway.ProcessId, http, status, clock, "cool-down");
            samples.Add(last);
        }
        while ((last.OpenConnections > 0 || last.TimerQueueEntries > 0) && coolDown.Elapsed < CoolDownLimit);

        progress.WriteLine(Describe(last));
        await gateway.StopAsync();
        Directory.Delete(work, recursive: true);

        List<SoakCheck> checks = Check(settings, samples, baseline, last, recorder);
        BatchedSessions.FaultCounts done = load ?? throw new InvalidOperationException("the load ended without its figures");
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{recorder.Transfers} transfers completed byte-exact, {recorder.Failures} failed, {done.Restarts} devices restarted mid-transfer, " +
            $"{done.Vanished} vanished mid-transfer, {floods.Count} floods of {settings.FloodRate} datagrams/s for {settings.FloodLength.TotalSeconds:0} s");
        return (samples, floods, checks, summary);
    }

    public static string Describe(SoakSample s) => string.Create(CultureInfo.InvariantCulture,
        $"soak: {s.Seconds,7:0.0} s {s.Phase,-14} RSS {s.RssKiB / 1024.0,6:0.0} MiB, {s.Descriptors} descriptors, {s.Threads} threads, " +
        $"{s.OpenConnections} connections, {s.ArmedTimers} timers ({s.TimerQueueEntries} queued), {s.TransfersCompleted} transfers");

    /// <summary>The soak's verdicts: the gateway served, its memory stayed flat, and what the load held came back.</summary>
    private static List<SoakCheck> Check(SoakSettings settings, List<SoakSample> samples, SoakSample baseline, SoakSample last, Recorder recorder)
    {
        SoakSample? endOfWarmUp = samples.LastOrDefault(s => s.Phase.StartsWith("warm-up", StringComparison.Ordinal));
        SoakSample[] afterWarmUp = [.. samples.Where(s => s.Phase.StartsWith("load", StringComparison.Ordinal) || s.Phase == "cool-down")];
        var checks = new List<SoakCheck>
        {
            new("transfers", recorder.Transfers > 0 && recorder.Failures == 0,
                $"{recorder.Transfers} completed byte-exact, {recorder.Failures} failed"),
        };
        if (endOfWarmUp is null || afterWarmUp.Length == 0)
        {
            checks.Add(new("rss-flat", false, "no sample both in the warm-up and after it: run longer, or sample more often"));
        }
        else
        {
            long bound = (long)(endOfWarmUp.RssKiB * (1 + settings.RssBound));
            SoakSample highest = afterWarmUp.MaxBy(s => s.RssKiB)!;
            checks.Add(new("rss-flat", highest.RssKiB <= bound, string.Create(CultureInfo.InvariantCulture,
                $"{endOfWarmUp.RssKiB / 1024.0:0.0} MiB at the end of the warm-up, at most {highest.RssKiB / 1024.0:0.0} MiB after it (at {highest.Seconds:0} s; bound {bound / 1024.0:0.0} MiB, +{settings.RssBound:P0})")));
        }

        checks.Add(new("descriptors-back", last.Descriptors == baseline.Descriptors,
            $"{baseline.Descriptors} before the load, {samples.Max(s => s.Descriptors)} at most, {last.Descriptors} after it"));
        // Threads come and go with the load (the thread pool's workers, the status page's), so a
        // leak shows as growth past what the warm-up needed, not as a count that differs by one.
        int warmUpThreads = samples.Where(s => !afterWarmUp.Contains(s)).Max(s => s.Threads);
        int laterThreads = afterWarmUp.Length == 0 ? 0 : afterWarmUp.Max(s => s.Threads);
        checks.Add(new("threads-bounded", laterThreads <= warmUpThreads + ThreadsAboveWarmUp,
            $"{baseline.Threads} before the load, {warmUpThreads} at most in the warm-up, {laterThreads} at most after it (bound +{ThreadsAboveWarmUp}), {last.Threads} at the end"));
        checks.Add(new("connections-back", last.OpenConnections == 0,
            $"{samples.Max(s => s.OpenConnections)} at most, {last.OpenConnections} after the load"));
        checks.Add(new("timers-back", last.ArmedTimers == 0 && last.TimerQueueEntries == 0,
            $"{samples.Max(s => s.TimerQueueEntries)} queue entries at most, {last.ArmedTimers} armed and {last.TimerQueueEntries} queued after the load"));
        return checks;
    }

    private static async Task<SoakSample> SampleAsync(int processId, HttpClient http, Uri status, Stopwatch clock, string phase)
    {
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(status));
        JsonElement traffic = json.RootElement.GetProperty("traffic");
        string[] statusLines = File.ReadAllLines($"/proc/{processId}/status");
        long Field(string name) => long.Parse(
            statusLines.First(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1],
            CultureInfo.InvariantCulture);
        return new SoakSample(
            clock.Elapsed.TotalSeconds,
            phase,
            Field("VmRSS"),
            Directory.GetFileSystemEntries($"/proc/{processId}/fd").Length,
            (int)Field("Threads"),
            traffic.GetProperty("openConnections").GetInt32(),
            traffic.GetProperty("armedTimers").GetInt32(),
            traffic.GetProperty("timerQueueEntries").GetInt32(),
            traffic.GetProperty("transfersCompleted").GetInt64());
    }

    /// <summary>Whether a flood was on at any time since the last sample (one ends between two samples, or is still on).</summary>
    private static bool InFlood(List<(double From, double To)> floods, Stopwatch clock, TimeSpan sampleEvery)
    {
        lock (floods)
        {
            return floods.Count > 0 && floods[^1].To > clock.Elapsed.TotalSeconds - sampleEvery.TotalSeconds;
        }
    }

    /// <summary>
    /// Floods the gateway now and then until the load's end: SYNs from 64 ports of their own (the
    /// gateway answers each with a SYN|ACK and keeps nothing) and one datagram in ten of random
    /// bytes, paced to <see cref="SoakSettings.FloodRate"/>.
    /// </summary>
    private static void Flood(IPEndPoint gateway, SoakSettings settings, Stopwatch clock, List<(double From, double To)> floods)
    {
        var random = new Random(settings.Faults.Seed + 1);
        Socket[] sockets = [.. Enumerable.Range(0, 64).Select(_ =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(gateway);
            return socket;
        })];
        try
        {
            byte[] datagram = new byte[GarbageMaximum];
            TimeSpan next = settings.FloodEvery / 2;
            while (next + settings.FloodLength < settings.Duration)
            {
                TimeSpan wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    Thread.Sleep(wait);
                }

                double from = clock.Elapsed.TotalSeconds;
                lock (floods)
                {
                    floods.Add((from, double.PositiveInfinity)); // on until it ends
                }

                long sent = 0;
                var flood = Stopwatch.StartNew();
                while (flood.Elapsed < settings.FloodLength)
                {
                    // Paced in slices of 10 ms: at most the rate's share of datagrams in each.
                    long due = (long)(flood.Elapsed.TotalSeconds * settings.FloodRate);
                    for (; sent < due; sent++)
                    {
                        int length = SegmentHeader.Size;
                        if (sent % 10 == 9)
                        {
                            length = random.Next(0, GarbageMaximum + 1);
                            random.NextBytes(datagram.AsSpan(0, length));
                        }
                        else
                        {
                            new SegmentHeader(new SequenceNumber((uint)random.NextInt64(1L << 32)), default, SegmentFlags.Syn).WriteTo(datagram);
                        }

                        try
                        {
                            sockets[sent % sockets.Length].Send(datagram.AsSpan(0, length));
                        }
                        catch (SocketException)
                        {
                            // An ICMP error for an earlier datagram, or a full buffer: a flood does not care.
                        }
                    }

                    Thread.Sleep(10);
                }

                lock (floods)
                {
                    floods[^1] = (from, clock.Elapsed.TotalSeconds);
                }

                next += settings.FloodEvery;
            }
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }
}

/// <summary>One verdict of a soak.</summary>
internal sealed record SoakCheck(string Name, bool Passed, string Detail);
