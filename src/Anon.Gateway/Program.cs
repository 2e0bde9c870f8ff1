using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Anon.Gateway;
using Anon.Io;
using Anon.Protocol;

var port = CommandLineApp.PortOption("UDP port to serve on; 0 picks a free one (printed at start).", allowZero: true);
var log = new Option<string>("--log", "-l", "-s")
{
    Description = "Log file: one line per datagram sent or received, and the gateway's events. Appended to.",
    HelpName = "file",
    Required = true,
};
var url = new Option<Uri>("--url", "-w")
{
    Description = "The command page to download (http or https) and serve.",
    HelpName = "url",
    Required = true,
    CustomParser = result =>
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (Uri.TryCreate(token, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        result.AddError($"'{token}' is not an http:// or https:// URL");
        return null;
    },
};
var initialSequence = CommandLineApp.InitialSequenceOption();
var maxConnections = new Option<int>("--max-connections")
{
    Description = "Connections served at once at most; further handshakes are refused until one ends.",
    HelpName = "n",
    DefaultValueFactory = _ => GatewayOptions.Default.MaximumConnections,
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 1, 1_000_000, "a connection count"),
};
var maxSize = new Option<int>("--max-size")
{
    Description = "Largest page accepted, in bytes.",
    HelpName = "bytes",
    DefaultValueFactory = _ => PageDownloader.DefaultMaximumSize,
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 64 * 1024 * 1024, "a size in bytes"),
};

var caFile = new Option<string>("--ca-file")
{
    Description = "PEM file of the CA certificate(s) to trust for an https URL instead of the system's (a private CA).",
    HelpName = "file",
};
var bind = new Option<IPAddress?>("--bind")
{
    Description = "Serve on this address only (such as the gateway's address on the device network); all addresses by default.",
    HelpName = "address",
    CustomParser = result =>
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (IPAddress.TryParse(token, out IPAddress? address))
        {
            return address;
        }

        result.AddError($"'{token}' is not an IP address for --bind");
        return null;
    },
};
var allow = new Option<IPNetwork[]>("--allow")
{
    Description = "Answer only clients in this network, as CIDR (192.168.2.0/24, fd00::/8); repeat for more. All by default.",
    HelpName = "cidr",
    AllowMultipleArgumentsPerToken = false,
    CustomParser = result =>
    {
        var networks = new List<IPNetwork>();
        foreach (System.CommandLine.Parsing.Token token in result.Tokens)
        {
            if (IPNetwork.TryParse(token.Value, out IPNetwork network))
            {
                networks.Add(network);
            }
            else
            {
                result.AddError($"'{token.Value}' is not a network for --allow: give it as CIDR, like 192.168.2.0/24");
            }
        }

        return [.. networks];
    },
};
var refresh = CommandLineApp.DurationOption(
    "--refresh", "Download the page again this often (a conditional GET), serving the new version to new connections; 0: download once.",
    TimeSpan.FromSeconds(60), inSeconds: true);
var maxConnectionRate = new Option<int>("--max-connection-rate")
{
    Description = "New connections one source address may open per second (twice that at once); 0 for no limit.",
    HelpName = "n",
    DefaultValueFactory = _ => (int)GatewayOptions.Default.NewConnectionsPerSecondPerSource,
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 1_000_000, "a rate"),
};
var retransmission = new RetransmissionOptions();

var root = new RootCommand("anonGateway: downloads a command page and serves it over UDP to the devices of the local network.")
{
    port, log, url, refresh, bind, allow, caFile, initialSequence, maxConnections, maxConnectionRate, maxSize,
};
foreach (Option option in retransmission.Options)
{
    root.Options.Add(option);
}

root.SetAction(parsed => Serve(
    parsed.GetValue(port),
    parsed.GetRequiredValue(log),
    parsed.GetRequiredValue(url),
    parsed.GetValue(initialSequence),
    new GatewayOptions
    {
        MaximumConnections = parsed.GetValue(maxConnections),
        NewConnectionsPerSecondPerSource = parsed.GetValue(maxConnectionRate),
        Retransmission = retransmission.Read(parsed),
    },
    parsed.GetValue(maxSize),
    parsed.GetValue(caFile),
    TimeSpan.FromSeconds(parsed.GetValue(refresh)),
    parsed.GetValue(bind),
    parsed.GetValue(allow) is { Length: > 0 } networks ? new AllowList(networks) : null));
return CommandLineApp.Run(root, args);

static int Serve(
    int port, string logPath, Uri url, uint? initialSequence, GatewayOptions options, int maxSize, string? caFile, TimeSpan refresh,
    IPAddress? bindAddress, AllowList? allowed)
{
    using var stop = new CancellationTokenSource();
    using PosixSignalRegistration onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using PosixSignalRegistration onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

    using PacketLog packetLog = PacketLog.Open(logPath);
    packetLog.Event($"anonGateway starting: downloading {url}");
    try
    {
        using var downloader = new PageDownloader(maxSize, trustedAuthorities: caFile is null ? null : PageDownloader.LoadAuthorities(caFile));
        PageVersion first = downloader.DownloadAsync(url, stop.Token).GetAwaiter().GetResult();
        byte[] page = first.Content;
        string command = PageRefresher.Describe(page);
        packetLog.Event($"downloaded {page.Length} bytes: {command}");

        ISynCookieGenerator cookies = initialSequence is { } isn
            ? new FixedSynCookie(new SequenceNumber(isn))
            : KeyedSynCookies.CreateRandom();
        using var server = new GatewayServer(
            GatewayServer.Bind(port, bindAddress), new GatewayEndpoint(page, cookies, options), packetLog, allowed: allowed);
        string listening = $"serving {page.Length} bytes ({command}) from {url}; listening on UDP port {server.LocalEndPoint.Port}{(bindAddress is null ? "" : $" of {bindAddress}")}";
        packetLog.Event(listening);
        Console.WriteLine($"anonGateway: {listening}");
        Console.Out.Flush();

        GatewayEndpoint endpoint = server.Endpoint;
        using var metrics = new GatewayMetrics(endpoint);
        Task refreshing = refresh > TimeSpan.Zero
            ? Task.Run(() => new PageRefresher(downloader, url, refresh, endpoint, packetLog, TimeProvider.System).RunAsync(first, stop.Token))
            : Task.CompletedTask;
        server.Run(stop.Token);
        refreshing.GetAwaiter().GetResult();
        packetLog.Event("anonGateway stopped by signal");
        return ExitCodes.Success;
    }
    catch (CommandFailedException e)
    {
        packetLog.Event($"error: {e.Message}");
        throw;
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        packetLog.Event("anonGateway stopped by signal before it was serving");
        return ExitCodes.Success;
    }

    void Stop(PosixSignalContext context)
    {
        context.Cancel = true; // shut down cleanly ourselves: the loop notices within 200 ms
        stop.Cancel();
    }
}
