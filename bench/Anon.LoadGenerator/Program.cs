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
var soakMinutes = new Option<double>("--minutes") { Description = "How long the load runs, warm-up included.", DefaultValueFactory = _ => 10 };
var soakWarmUp = new Option<int>("--warm-up-transfers") { Description = "Transfers of warm-up, not held to the RSS bound (the GC's heap grows to its size as they allocate).", DefaultValueFactory = _ => 8000 };
var soakSessions = new Option<int>("--sessions") { Description = "Concurrent sessions, each fetching again and again.", DefaultValueFactory = _ => 20 };
var soakLoss = new Option<double>("--loss") { Description = "Probability that a datagram is lost, each way.", DefaultValueFactory = _ => 0.1 };
var soakAbandon = new Option<double>("--abandon") { Description = "Share of transfers whose device restarts or vanishes after the first segment.", DefaultValueFactory = _ => 0.05 };
var soakFloodEvery = new Option<double>("--flood-every") { Description = "Seconds from one flood to the next.", DefaultValueFactory = _ => 60 };
var soakFloodLength = new Option<double>("--flood-seconds") { Description = "How long each flood lasts.", DefaultValueFactory = _ => 5 };
var soakFloodRate = new Option<int>("--flood-rate") { Description = "Datagrams a second during a flood.", DefaultValueFactory = _ => 20_000 };
var soakSampleEvery = new Option<double>("--sample-every") { Description = "Seconds between samples.", DefaultValueFactory = _ => 5 };
var soakSeed = new Option<int>("--seed") { Description = "Seeds the loss, the abandons and the floods' contents.", DefaultValueFactory = _ => 1 };
var soakCsv = new Option<string?>("--csv") { Description = "Write every sample to this CSV file." };
var soakSvg = new Option<string?>("--svg") { Description = "Plot the samples to this SVG file." };
var soakGateway = new Option<string>("--gateway")
{
    Description = "The gateway program to soak: by default this build's; the packages' Native AOT build (deploy/debian/build.sh leaves it in artifacts/deb/publish/ARCH) is what devices run.",
    DefaultValueFactory = _ => Programs.GatewayPath,
};
var soak = new Command("soak", "The gateway under sustained load with loss, device restarts and periodic floods; samples its RSS, descriptors, threads, connections and timers, and checks they stay flat and come back when the load stops (exit 1 if not).")
{
    soakMinutes, soakWarmUp, soakSessions, soakLoss, soakAbandon, soakFloodEvery, soakFloodLength, soakFloodRate, soakSampleEvery, soakSeed, soakCsv, soakSvg, soakGateway,
};
soak.SetAction(async (parsed, cancel) =>
{
    var settings = new SoakSettings(
        TimeSpan.FromMinutes(parsed.GetValue(soakMinutes)),
        parsed.GetValue(soakWarmUp),
        TimeSpan.FromSeconds(parsed.GetValue(soakSampleEvery)),
        parsed.GetValue(soakSessions),
        new SessionFaults(parsed.GetValue(soakLoss), parsed.GetValue(soakAbandon), parsed.GetValue(soakSeed)),
        TimeSpan.FromSeconds(parsed.GetValue(soakFloodEvery)),
        TimeSpan.FromSeconds(parsed.GetValue(soakFloodLength)),
        parsed.GetValue(soakFloodRate),
        RssBound: 0.10,
        Path.GetFullPath(parsed.GetValue(soakGateway)!));
    var took = System.Diagnostics.Stopwatch.StartNew();
    var (samples, floods, checks, summary) = await Soak.RunAsync(settings, Console.Out);
    if (parsed.GetValue(soakCsv) is { } csv)
    {
        SoakReport.WriteCsv(samples, csv);
    }

    if (parsed.GetValue(soakSvg) is { } svg)
    {
        string title = string.Create(CultureInfo.InvariantCulture,
            $"anonGateway soak: {settings.Duration.TotalMinutes:0} min, {settings.Sessions} sessions, {settings.Faults.Loss:P0} loss each way, {settings.Faults.Abandon:P0} of devices restarting or vanishing, a flood every {settings.FloodEvery.TotalSeconds:0} s");
        double warmUpEnd = samples.FirstOrDefault(sample => sample.Phase.StartsWith("load", StringComparison.Ordinal))?.Seconds ?? 0;
        SoakReport.WriteSvg(samples, floods, warmUpEnd, title, svg);
    }

    Console.WriteLine($"soak: {summary}");
    foreach (SoakCheck check in checks)
    {
        Console.WriteLine($"soak: {(check.Passed ? "ok" : "FAILED")} {check.Name}: {check.Detail}");
    }

    int failed = checks.Count(check => !check.Passed);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak test: {checks.Count - failed} passed, {failed} failed ({took.Elapsed.TotalMinutes:0.0} min)"));
    return failed == 0 ? 0 : 1;
});
var stormDevices = new Option<int>("--devices") { Description = "Watching devices.", DefaultValueFactory = _ => 1000 };
var stormInterval = new Option<double>("--interval") { Description = "Each device's watch interval, seconds.", DefaultValueFactory = _ => 10 };
var stormRestartAt = new Option<double>("--restart-at") { Description = "Seconds after the devices began when the gateway is killed.", DefaultValueFactory = _ => 30 };
var stormDown = new Option<double>("--down") { Description = "Seconds the gateway stays down (systemd's RestartSec=5).", DefaultValueFactory = _ => 5 };
var stormAfter = new Option<double>("--after") { Description = "Seconds the devices go on after the new gateway started.", DefaultValueFactory = _ => 40 };
var stormNoJitter = new Option<bool>("--no-jitter") { Description = "Devices wait the interval exactly, and back off without jitter: for comparison." };
var stormSeed = new Option<int>("--seed") { Description = "Seeds the devices' start times and jitter.", DefaultValueFactory = _ => 1 };
var storm = new Command("storm", "A fleet of watching devices, the gateway killed and started again on its port: devices served again, when, failures, the table's peak and how the returns spread.")
{
    stormDevices, stormInterval, stormRestartAt, stormDown, stormAfter, stormNoJitter, stormSeed,
};
storm.SetAction(async (parsed, cancel) =>
{
    var settings = new StormSettings(
        parsed.GetValue(stormDevices),
        TimeSpan.FromSeconds(parsed.GetValue(stormInterval)),
        TimeSpan.FromSeconds(parsed.GetValue(stormRestartAt)),
        TimeSpan.FromSeconds(parsed.GetValue(stormDown)),
        TimeSpan.FromSeconds(parsed.GetValue(stormAfter)),
        Jitter: !parsed.GetValue(stormNoJitter),
        parsed.GetValue(stormSeed));
    (string report, bool everyDeviceServed) = await Storm.RunAsync(settings, Console.Out);
    Console.WriteLine(report);
    return everyDeviceServed ? 0 : 1;
});
var root = new RootCommand("anon-load: concurrent transfers of the 13,112-byte page against one gateway on loopback.") { sessionsOption, secondsOption, targetOption, asyncOption, floor, hold, soak, storm };
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
