using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Anon.Io;
using Anon.Lab;
using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>How a restart storm is run (<c>anon-load storm</c>).</summary>
/// <param name="Interval">Each device's watch interval (the client's <c>--watch</c>).</param>
/// <param name="RestartAt">When the gateway is killed, after the devices began.</param>
/// <param name="Down">How long it stays down before a new one starts on its port (systemd's RestartSec=5 by default).</param>
/// <param name="After">How long the devices go on after the new gateway started.</param>
/// <param name="Jitter">Whether the devices spread their waits as the client does (WatchSchedule); off, for comparison.</param>
internal sealed record StormSettings(int Devices, TimeSpan Interval, TimeSpan RestartAt, TimeSpan Down, TimeSpan After, bool Jitter, int Seed);

/// <summary>
/// A fleet of watching devices and a gateway that dies and comes back (killed, as by a crash that
/// systemd restarts): does every device get the page again, how long until the last one has, how
/// many fetches failed, how full the gateway's table got, and how the devices' returns spread out.
/// The devices are the client's core in one process (the batched sessions), each fetching on the
/// client's own watch schedule (<see cref="WatchSchedule"/>).
/// </summary>
internal sealed class Storm : ISessionSchedule
{
    private static readonly TimeSpan Bucket = TimeSpan.FromMilliseconds(250);
    private readonly StormSettings _settings;
    private readonly Random _random;
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly int[] _failuresInRow;
    private readonly object _lock = new();
    private readonly List<(TimeSpan Started, TimeSpan Ended, int Device, bool Ok)> _fetches = [];

    private Storm(StormSettings settings)
    {
        _settings = settings;
        _random = new Random(settings.Seed);
        _failuresInRow = new int[settings.Devices];
    }

    private TimeSpan Now => Stopwatch.GetElapsedTime(_origin);

    /// <summary>Devices begin spread over one interval, as a fleet long in service is.</summary>
    public TimeSpan FirstStart(int session) => _settings.Interval * _random.NextDouble();

    public TimeSpan Next(int session, TimeSpan started, TimeSpan now, ClientConnection fetch)
    {
        TimeSpan ended = Now;
        bool ok = fetch.IsComplete;
        lock (_lock)
        {
            _fetches.Add((ended - (now - started), ended, session, ok));
        }

        _failuresInRow[session] = ok ? 0 : _failuresInRow[session] + 1;
        if (!_settings.Jitter)
        {
            // For comparison: the same waits without their random part, as a client without jitter would keep.
            TimeSpan backoff = _settings.Interval * Math.Pow(2, Math.Min(_failuresInRow[session] - 1, 20));
            return ok ? _settings.Interval : backoff < WatchSchedule.MaximumBackoff ? backoff : WatchSchedule.MaximumBackoff;
        }

        return ok ? WatchSchedule.AfterSuccess(_settings.Interval, _random) : WatchSchedule.AfterFailures(_settings.Interval, _failuresInRow[session], _random);
    }

    /// <returns>The figures, and whether every device got the page again after the restart.</returns>
    public static async Task<(string Report, bool EveryDeviceServed)> RunAsync(StormSettings settings, TextWriter progress)
    {
        var storm = new Storm(settings);
        string work = Directory.CreateTempSubdirectory("anon-storm-").FullName;
        await using PageServer web = await PageServer.StartAsync();
        web.ServeDirectory(Programs.FixturesDirectory);
        var page = new Uri(web.BaseAddress, "LIGHTON_COMMAND");
        int port = LocalPorts.FreeUdp();
        (GatewayProcess first, Uri firstStatus) = await StartGatewayAsync(page, work, port, "first");
        var target = new IPEndPoint(IPAddress.Loopback, port);
        TimeSpan total = settings.RestartAt + settings.Down + settings.After;
        var recorder = new Recorder(File.ReadAllBytes(Path.Combine(Programs.FixturesDirectory, "LIGHTON_COMMAND")));
        var options = new ClientOptions { IdleTimeout = TimeSpan.FromSeconds(10) };
        Task devices = Task.Factory.StartNew(
            () => BatchedSessions.Run(target, settings.Devices, total, options, recorder, schedule: storm), TaskCreationOptions.LongRunning);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        TimeSpan untilRestart = settings.RestartAt - storm.Now;
        await Task.Delay(untilRestart > TimeSpan.Zero ? untilRestart : TimeSpan.Zero);
        int peakBefore = await PeakOpenConnectionsAsync(http, firstStatus);
        TimeSpan killedAt = storm.Now;
        await first.DisposeAsync(); // SIGKILL: as a crash, no drain
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storm: gateway killed at {killedAt.TotalSeconds:0.0} s"));
        await Task.Delay(settings.Down);
        (GatewayProcess second, Uri secondStatus) = await StartGatewayAsync(page, work, port, "second");
        TimeSpan backAt = storm.Now;
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storm: a new gateway listening at {backAt.TotalSeconds:0.0} s"));
        await devices;
        int peakAfter = await PeakOpenConnectionsAsync(http, secondStatus);
        await second.StopAsync();
        Directory.Delete(work, recursive: true);
        return storm.Report(killedAt, backAt, peakBefore, peakAfter);
    }

    /// <summary>The figures: devices served again and when, failures, the table's peak, and the returns per 250 ms.</summary>
    private (string, bool) Report(TimeSpan killedAt, TimeSpan backAt, int peakBefore, int peakAfter)
    {
        (TimeSpan Started, TimeSpan Ended, int Device, bool Ok)[] fetches;
        lock (_lock)
        {
            fetches = [.. _fetches];
        }

        // Served again: a fetch that completed after the gateway was killed, for each device.
        var servedAgain = new Dictionary<int, TimeSpan>();
        foreach (var fetch in fetches.Where(f => f.Ok && f.Ended > killedAt).OrderBy(f => f.Ended))
        {
            servedAgain.TryAdd(fetch.Device, fetch.Ended);
        }

        int failed = fetches.Count(f => !f.Ok);
        int failedDevices = fetches.Where(f => !f.Ok).Select(f => f.Device).Distinct().Count();
        TimeSpan lastServed = servedAgain.Count > 0 ? servedAgain.Values.Max() : TimeSpan.Zero;

        // How the returns spread: fetches completed per 250 ms in the first seconds after the gateway came back.
        int steadyPerBucket = (int)Math.Round(_settings.Devices * Bucket.TotalSeconds / _settings.Interval.TotalSeconds);
        var buckets = new StringBuilder();
        int peakBucket = 0;
        for (TimeSpan from = backAt; from < backAt + TimeSpan.FromSeconds(5); from += Bucket)
        {
            int count = fetches.Count(f => f.Ok && f.Ended >= from && f.Ended < from + Bucket);
            peakBucket = Math.Max(peakBucket, count);
            buckets.Append(CultureInfo.InvariantCulture, $"{count} ");
        }

        string report = string.Create(CultureInfo.InvariantCulture, $"""
            storm: {_settings.Devices} devices watching every {_settings.Interval.TotalSeconds:0} s ({(_settings.Jitter ? "±10 % jitter, as the client" : "no jitter")}); gateway killed at {killedAt.TotalSeconds:0.0} s, a new one listening {(backAt - killedAt).TotalSeconds:0.0} s later
            storm: served again: {servedAgain.Count} of {_settings.Devices} devices; the last {(lastServed - backAt).TotalSeconds:0.00} s after the new gateway listened ({(lastServed - killedAt).TotalSeconds:0.00} s after the kill)
            storm: failed fetches: {failed} (of {fetches.Length}), on {failedDevices} devices
            storm: open connections at once, at most (the gateway's own count): {peakBefore} in the first gateway's life, {peakAfter} in the second's
            storm: fetches completed per 250 ms from the return on (steady state {steadyPerBucket}): {buckets.ToString().TrimEnd()}; peak {peakBucket}
            """);
        return (report, servedAgain.Count == _settings.Devices);
    }

    private static async Task<int> PeakOpenConnectionsAsync(HttpClient http, Uri status)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the status page's figures are a second old at most
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(status));
        return json.RootElement.GetProperty("traffic").GetProperty("peakOpenConnections").GetInt32();
    }

    private static async Task<(GatewayProcess Gateway, Uri Status)> StartGatewayAsync(Uri page, string work, int port, string name)
    {
        int statusPort = LocalPorts.FreeTcp();
        GatewayProcess gateway = await GatewayProcess.StartAsync(page, Path.Combine(work, $"{name}.log"), port, "--status", $"127.0.0.1:{statusPort}");
        return (gateway, new Uri($"http://127.0.0.1:{statusPort}/status.json"));
    }
}
