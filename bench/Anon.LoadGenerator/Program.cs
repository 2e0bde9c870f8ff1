using System.CommandLine;
using System.Globalization;
using System.Net;
using Anon.Lab;
using Anon.LoadGenerator;
using Anon.Protocol;

// anon-load: starts a page server and a gateway (or uses --target, such as a fleet behind nginx),
// runs --sessions concurrent sessions for --seconds, and reports transfers/s, transfer times and,
// for its own gateway, the gateway's CPU time per transfer and its peak memory.
var sessionsOption = new Option<int>("--sessions") { Description = "Concurrent sessions.", DefaultValueFactory = _ => 100 };
var secondsOption = new Option<double>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 10 };
var targetOption = new Option<IPEndPoint?>("--target")
{
    Description = "ADDRESS:PORT of a running gateway (or a proxy in front of several) serving the LIGHTON page, instead of one of its own.",
    CustomParser = result => IPEndPoint.TryParse(result.Tokens[0].Value, out IPEndPoint? target) && target.Port != 0
        ? target
        : throw new FormatException($"--target: '{result.Tokens[0].Value}' is not ADDRESS:PORT"),
};
var asyncOption = new Option<bool>("--async-sockets")
{
    Description = "A socket per session with async receives, even where one thread with batched system calls could run them all (a gateway on IPv4 loopback, on Linux).",
};
var floorRuns = new Option<int>("--runs") { Description = "Sets of round trips to time.", DefaultValueFactory = _ => 200 };
var floor = new Command("floor", $"The network's floor: {PingPong.RoundTrips} round trips of 12 and 524 bytes over loopback, timed.") { floorRuns };
floor.SetAction(parsed =>
{
    double[] times = PingPong.Measure(parsed.GetValue(floorRuns));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{PingPong.RoundTrips} round trips of 12/524 bytes, {times.Length} runs: median {Recorder.Percentile(times, 0.5):0.000} ms, p95 {Recorder.Percentile(times, 0.95):0.000} ms"));
    return 0;
});
var holdCount = new Option<int>("--connections") { Description = "Connections to hold open.", DefaultValueFactory = _ => 10_000 };
var hold = new Command("hold", "Memory per open connection: open many connections to a gateway of its own, acknowledge nothing, and compare its RSS.") { holdCount };
hold.SetAction(async (parsed, cancel) =>
{
    int count = parsed.GetValue(holdCount);
    string work = Directory.CreateTempSubdirectory("anon-load-").FullName;
    await using PageServer web = await PageServer.StartAsync();
    web.ServeDirectory(Programs.FixturesDirectory);
    string limit = (count + 100).ToString(CultureInfo.InvariantCulture);
    using var statusPort = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
    statusPort.Start();
    var status = new Uri($"http://127.0.0.1:{((IPEndPoint)statusPort.LocalEndpoint).Port}/status.json");
    statusPort.Stop();
    await using GatewayProcess gateway = await GatewayProcess.StartAsync(
        new Uri(web.BaseAddress, "LIGHTON_COMMAND"), Path.Combine(work, "gateway.log"),
        "--max-connection-rate", "0", "--max-connections", limit, "--status", $"127.0.0.1:{status.Port}");
    Console.WriteLine(await OpenConnections.MeasureAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port), gateway.ProcessId, count, status));
    await gateway.StopAsync();
    Directory.Delete(work, recursive: true);
    return 0;
});
var root = new RootCommand("anon-load: concurrent transfers of the 13,112-byte page against one gateway on loopback.") { sessionsOption, secondsOption, targetOption, asyncOption, floor, hold };
root.SetAction(async (parsed, cancel) =>
{
    int sessions = parsed.GetValue(sessionsOption);
    TimeSpan duration = TimeSpan.FromSeconds(parsed.GetValue(secondsOption));
    byte[] page = File.ReadAllBytes(Path.Combine(Programs.FixturesDirectory, "LIGHTON_COMMAND"));
    var options = new ClientOptions { IdleTimeout = TimeSpan.FromSeconds(10) };
    bool asyncSockets = parsed.GetValue(asyncOption);
    if (parsed.GetValue(targetOption) is IPEndPoint target)
    {
        Recorder remote = await RunSessionsAsync(target, sessions, duration, options, page, asyncSockets);
        Console.WriteLine(remote.Report(sessions));
        return remote.Failures == 0 ? 0 : 1;
    }

    string work = Directory.CreateTempSubdirectory("anon-load-").FullName;
    await using PageServer web = await PageServer.StartAsync();
    web.ServeDirectory(Programs.FixturesDirectory);
    await using GatewayProcess gateway = await GatewayProcess.StartAsync(
        new Uri(web.BaseAddress, "LIGHTON_COMMAND"), Path.Combine(work, "gateway.log"), "--max-connection-rate", "0");

    (double cpuBefore, _) = ProcessFigures(gateway.ProcessId);
    Recorder recorder = await RunSessionsAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port), sessions, duration, options, page, asyncSockets);
    (double cpuAfter, long peakKiB) = ProcessFigures(gateway.ProcessId);
    await gateway.StopAsync();

    double cpuPerTransfer = (cpuAfter - cpuBefore) / Math.Max(1, recorder.Transfers) * 1000;
    Console.WriteLine(recorder.Report(sessions));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
        gateway CPU          {cpuAfter - cpuBefore:0.00} s, {cpuPerTransfer:0.000} ms per transfer
        gateway peak RSS     {peakKiB / 1024.0:0.0} MiB
        """));
    Directory.Delete(work, recursive: true);
    return recorder.Failures == 0 ? 0 : 1;
});
return await root.Parse(args).InvokeAsync();

static async Task<Recorder> RunSessionsAsync(IPEndPoint target, int sessions, TimeSpan duration, ClientOptions options, byte[] page, bool asyncSockets)
{
    var recorder = new Recorder(page);
    if (!asyncSockets && BatchedSessions.CanReach(target))
    {
        recorder.Engine = "one thread, one socket, recvmmsg/sendmmsg, a 127.x.y.z source address per transfer";
        recorder.Start();
        await Task.Factory.StartNew(() => BatchedSessions.Run(target, sessions, duration, options, recorder), TaskCreationOptions.LongRunning);
    }
    else
    {
        recorder.Engine = "a socket per session, async receives";
        using var stop = new CancellationTokenSource(duration);
        recorder.Start();
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(() => new Session(target, options, recorder).RunAsync(stop.Token))));
    }

    recorder.Stop();
    return recorder;
}

// CPU seconds (user + system) and peak resident memory of a process, from /proc.
static (double CpuSeconds, long PeakKiB) ProcessFigures(int processId)
{
    string[] stat = File.ReadAllText($"/proc/{processId}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    double ticks = double.Parse(stat[11], CultureInfo.InvariantCulture) + double.Parse(stat[12], CultureInfo.InvariantCulture);
    string peak = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return (ticks / 100.0, long.Parse(peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
}
