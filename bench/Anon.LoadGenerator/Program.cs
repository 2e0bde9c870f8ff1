using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Anon.Lab;
using Anon.LoadGenerator;
using Anon.Protocol;

// anon-load: starts a page server and a gateway (or uses --gateway), runs --sessions concurrent
// sessions for --seconds, and reports transfers/s, transfer times, the gateway's CPU time per
// transfer and its peak memory.
var sessionsOption = new Option<int>("--sessions") { Description = "Concurrent sessions.", DefaultValueFactory = _ => 100 };
var secondsOption = new Option<double>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 10 };
var floorRuns = new Option<int>("--runs") { Description = "Sets of round trips to time.", DefaultValueFactory = _ => 200 };
var floor = new Command("floor", $"The network's floor: {PingPong.RoundTrips} round trips of 12 and 524 bytes over loopback, timed.") { floorRuns };
floor.SetAction(parsed =>
{
    double[] times = PingPong.Measure(parsed.GetValue(floorRuns));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{PingPong.RoundTrips} round trips of 12/524 bytes, {times.Length} runs: median {Percentile(times, 0.5):0.000} ms, p95 {Percentile(times, 0.95):0.000} ms"));
    return 0;
});
var root = new RootCommand("anon-load: concurrent transfers of the 13,112-byte page against one gateway on loopback.") { sessionsOption, secondsOption, floor };
root.SetAction(async (parsed, cancel) =>
{
    int sessions = parsed.GetValue(sessionsOption);
    TimeSpan duration = TimeSpan.FromSeconds(parsed.GetValue(secondsOption));
    string work = Directory.CreateTempSubdirectory("anon-load-").FullName;
    await using PageServer web = await PageServer.StartAsync();
    web.ServeDirectory(Programs.FixturesDirectory);
    int pageLength = (int)new FileInfo(Path.Combine(Programs.FixturesDirectory, "LIGHTON_COMMAND")).Length;
    await using GatewayProcess gateway = await GatewayProcess.StartAsync(
        new Uri(web.BaseAddress, "LIGHTON_COMMAND"), Path.Combine(work, "gateway.log"), "--max-connection-rate", "0");

    var recorder = new Recorder();
    var endPoint = new IPEndPoint(IPAddress.Loopback, gateway.Port);
    var options = new ClientOptions { IdleTimeout = TimeSpan.FromSeconds(10) };
    (double cpuBefore, _) = ProcessFigures(gateway.ProcessId);
    using var stop = new CancellationTokenSource(duration);
    var stopwatch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(() => new Session(endPoint, options, pageLength, recorder).RunAsync(stop.Token))));
    TimeSpan elapsed = stopwatch.Elapsed;
    (double cpuAfter, long peakKiB) = ProcessFigures(gateway.ProcessId);
    await gateway.StopAsync();

    double[] times = recorder.SortedMilliseconds();
    double cpuPerTransfer = (cpuAfter - cpuBefore) / Math.Max(1, times.Length) * 1000;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
        sessions {sessions}, {elapsed.TotalSeconds:0.0} s: {times.Length} transfers of {pageLength} bytes, {recorder.Failures} failed
        transfers/s          {times.Length / elapsed.TotalSeconds:0}
        transfer time (ms)   p50 {Percentile(times, 0.50):0.00}  p99 {Percentile(times, 0.99):0.00}  max {(times.Length > 0 ? times[^1] : double.NaN):0.00}
        gateway CPU          {cpuAfter - cpuBefore:0.00} s, {cpuPerTransfer:0.000} ms per transfer
        gateway peak RSS     {peakKiB / 1024.0:0.0} MiB
        client retransmissions {recorder.ClientRetransmissions}
        """));
    Directory.Delete(work, recursive: true);
    return recorder.Failures == 0 ? 0 : 1;
});
return await root.Parse(args).InvokeAsync();

static double Percentile(double[] sorted, double fraction) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];

// CPU seconds (user + system) and peak resident memory of a process, from /proc.
static (double CpuSeconds, long PeakKiB) ProcessFigures(int processId)
{
    string[] stat = File.ReadAllText($"/proc/{processId}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    double ticks = double.Parse(stat[11], CultureInfo.InvariantCulture) + double.Parse(stat[12], CultureInfo.InvariantCulture);
    string peak = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return (ticks / 100.0, long.Parse(peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
}
