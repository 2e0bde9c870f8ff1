using System.CommandLine;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Anon.Cli;
using Anon.Gateway.Hosting;
using Anon.Gateway.Page;
using Anon.Gateway.Udp;
using Anon.Io;
using Anon.Protocol;
using Anon.Signing;

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
        string token = CommandLineApp.FirstToken(result);
        if (Uri.TryCreate(token, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        result.AddError($"'{token}' is not an http:// or https:// URL");
        return null;
    },
};
var initialSequence = CommandLineApp.InitialSequenceOption("a SYN cookie, for every connection");
var maxConnections = new Option<int>("--max-connections")
{
    Description = "Connections served at once at most; the handshakes beyond it are dropped (counted), so their clients retry until one ends.",
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
        string token = CommandLineApp.FirstToken(result);
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
var refresh = new DurationOption(
    "--refresh", "Download the page again this often (a conditional GET), serving the new version to new connections; 0: download once.",
    GatewaySettings.DefaultRefresh, inSeconds: true);
var maxConnectionRate = new Option<int>("--max-connection-rate")
{
    Description = "New connections one source address may open per second (twice that at once); 0 for no limit.",
    HelpName = "n",
    DefaultValueFactory = _ => (int)GatewayOptions.Default.NewConnectionsPerSecondPerSource,
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 1_000_000, "a rate"),
};
var cacheDirectory = new Option<string?>("--cache-dir")
{
    Description = "Keep the last good page in this directory and serve it at start when the download fails. "
        + "Default: $CACHE_DIRECTORY (set by systemd's CacheDirectory=), else none.",
    HelpName = "dir",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CACHE_DIRECTORY")?.Split(':')[0],
};
var maxStale = new DurationOption(
    "--max-stale", "Serve a cached page at start only if upstream gave or confirmed it at most this long ago.",
    GatewaySettings.DefaultMaxStale, inSeconds: true, maximum: TimeSpan.FromDays(3650));
var pageKey = new Option<string?>("--page-key")
{
    Description = "Serve only pages signed with this minisign key: the base64 line of the publisher's minisign.pub, or that file.",
    HelpName = "key",
};
var signatureUrl = new Option<Uri?>("--signature-url")
{
    Description = "Where the page's minisign signature is; the page's URL + .minisig by default.",
    HelpName = "url",
};
var signaturePort = new Option<int?>("--signature-port")
{
    Description = "With --page-key, also serve the page's minisign signature, as downloaded and verified, over the same protocol on this UDP port, for devices that check it themselves (the client's --page-key).",
    HelpName = "port",
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, ushort.MaxValue, "a port number"),
};
var maxPageAge = new DurationOption(
    "--max-page-age", "With --page-key, refuse a page signed longer ago than this; 0: no bound.", TimeSpan.Zero, inSeconds: true, maximum: TimeSpan.FromDays(3650));
var requireCommand = new Option<bool>("--require-command")
{
    Description = "Serve only a page whose first line is a command (COMMAND=LIGHTON, COMMAND=LIGHTOFF): refuse another at start, keep the last good copy on a refresh. Without it such a page is served with a warning.",
};
var drainTimeout = new DurationOption(
    "--drain-timeout", "On SIGTERM, answer no new SYN and let the transfers in flight finish for up to this long; 0: stop at once.",
    GatewaySettings.DefaultDrainTimeout, inSeconds: true);
var status = new Option<IPEndPoint?>("--status")
{
    Description = "Serve a status page on this address only (such as 127.0.0.1:8080): HTML at /, JSON at /status.json, Prometheus metrics at /metrics.",
    HelpName = "address:port",
    CustomParser = result =>
    {
        string token = CommandLineApp.FirstToken(result);
        if (IPEndPoint.TryParse(token, out IPEndPoint? endPoint) && token.Contains(':', StringComparison.Ordinal))
        {
            return endPoint;
        }

        result.AddError($"'{token}' is not ADDRESS:PORT for --status (such as 127.0.0.1:8080 or [::1]:8080)");
        return null;
    },
};
var retransmission = new RetransmissionOptions();

var root = new RootCommand("anonGateway: downloads a command page and serves it over UDP to the devices of the local network.")
{
    port, log, url, refresh, bind, allow, caFile, initialSequence, maxConnections, maxConnectionRate, maxSize, status, drainTimeout, cacheDirectory, maxStale, pageKey, signatureUrl, signaturePort, maxPageAge, requireCommand,
};
foreach (Option option in retransmission.Options)
{
    root.Options.Add(option);
}

root.SetAction(parsed => Serve(
    parsed.GetRequiredValue(log),
    new GatewaySettings
    {
        Port = parsed.GetValue(port),
        Url = parsed.GetRequiredValue(url),
        Refresh = refresh.Read(parsed),
        MaximumPageSize = parsed.GetValue(maxSize),
        CaFile = parsed.GetValue(caFile),
        BindAddress = parsed.GetValue(bind),
        Allowed = parsed.GetValue(allow) is { Length: > 0 } networks ? new AllowList(networks) : null,
        InitialSequence = parsed.GetValue(initialSequence),
        Options = new GatewayOptions
        {
            MaximumConnections = parsed.GetValue(maxConnections),
            NewConnectionsPerSecondPerSource = parsed.GetValue(maxConnectionRate),
            Retransmission = retransmission.Read(parsed),
        },
        StatusEndPoint = parsed.GetValue(status),
        DrainTimeout = drainTimeout.Read(parsed),
        CacheDirectory = parsed.GetValue(cacheDirectory),
        MaxStale = maxStale.Read(parsed),
        Signing = Signing(parsed.GetRequiredValue(url), parsed.GetValue(pageKey), parsed.GetValue(signatureUrl), maxPageAge.Read(parsed)),
        SignaturePort = SignaturePort(parsed.GetValue(signaturePort), parsed.GetValue(port), parsed.GetValue(pageKey) is not null),
        RequireCommand = parsed.GetValue(requireCommand),
    }));
return CommandLineApp.Run(root, args, environmentPrefix: "ANON_GATEWAY_");

// --signature-port: only with a key to check the signature by, and not the page's own port.
static int? SignaturePort(int? signaturePort, int pagePort, bool hasKey) => signaturePort switch
{
    null => null,
    _ when !hasKey => throw new UsageException("--signature-port serves the page's signature: give the publisher's key with --page-key"),
    { } same when same == pagePort && same != 0 => throw new UsageException($"--signature-port {same} is the page's own port (--port): give another"),
    { } other => other,
};

// --page-key and its companions; null without a key.
static PageSigning? Signing(Uri page, string? key, Uri? signatureUrl, TimeSpan maxPageAge)
{
    if (key is null)
    {
        return signatureUrl is null && maxPageAge == TimeSpan.Zero
            ? null
            : throw new UsageException("--signature-url and --max-page-age check signatures: give the publisher's key with --page-key");
    }

    return new PageSigning(
        MinisignKey.Parse(key),
        signatureUrl ?? new Uri(page.AbsoluteUri + ".minisig"),
        maxPageAge > TimeSpan.Zero ? maxPageAge : null);
}

// The gateway runs as a hosted service (Microsoft.Extensions.Hosting): SIGTERM and SIGINT stop it
// cleanly, and under systemd (Type=notify) it reports READY=1 once it serves and STOPPING=1 on the way out.
static int Serve(string logPath, GatewaySettings settings)
{
    using PacketLog packetLog = PacketLog.Open(logPath);
    HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
    builder.Services.AddSystemd();
    // The drain, then a little for the rest of the stop; past that the host stops the loop at once.
    builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = settings.DrainTimeout + TimeSpan.FromSeconds(5));
    builder.Services.AddSingleton(settings);
    builder.Services.AddSingleton(packetLog);
    builder.Services.AddSingleton<GatewayHostedService>();
    builder.Services.AddHostedService(services => services.GetRequiredService<GatewayHostedService>());

    using IHost host = builder.Build();
    GatewayHostedService service = host.Services.GetRequiredService<GatewayHostedService>();
    try
    {
        host.Run(); // disposes the host when it returns
    }
    catch (OperationCanceledException)
    {
        packetLog.Event("anonGateway stopped by signal before it was serving");
        return ExitCodes.Success;
    }

    service.ThrowIfFaulted();
    return ExitCodes.Success;
}
