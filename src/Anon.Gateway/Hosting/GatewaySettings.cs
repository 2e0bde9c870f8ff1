using System.Net;
using Anon.Gateway.Page;
using Anon.Gateway.Udp;
using Anon.Protocol;

namespace Anon.Gateway.Hosting;

/// <summary>
/// What the command line (or its configuration) says the gateway should do, each setting by name.
/// A default here is the command line's default: its options take them from this class.
/// </summary>
public sealed record GatewaySettings
{
    /// <summary>A minute: a changed command reaches the devices within a minute, at one conditional GET a minute.</summary>
    public static readonly TimeSpan DefaultRefresh = TimeSpan.FromSeconds(60);

    /// <summary>A week: a command a week old is still the last one its publisher gave; older than that, starting fails.</summary>
    public static readonly TimeSpan DefaultMaxStale = TimeSpan.FromDays(7);

    /// <summary>
    /// A transfer takes milliseconds on a local network and about 15 s at worst through every
    /// retransmission; 5 s finishes the ordinary ones and stays within systemd's stop timeout.
    /// </summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The UDP port to serve on (<c>--port</c>).</summary>
    public required int Port { get; init; }

    /// <summary>The page to download and serve (<c>--url</c>).</summary>
    public required Uri Url { get; init; }

    /// <summary>How often the page is downloaded again (<c>--refresh</c>); zero: once.</summary>
    public TimeSpan Refresh { get; init; } = DefaultRefresh;

    /// <summary>The largest page accepted, in bytes (<c>--max-size</c>).</summary>
    public int MaximumPageSize { get; init; } = PageDownloader.DefaultMaximumSize;

    /// <summary>Certificate authorities to trust for HTTPS instead of the system's (<c>--ca-file</c>).</summary>
    public string? CaFile { get; init; }

    /// <summary>The one address to listen on (<c>--bind</c>); null for every address.</summary>
    public IPAddress? BindAddress { get; init; }

    /// <summary>The networks whose clients are answered (<c>--allow</c>); null for every one.</summary>
    public AllowList? Allowed { get; init; }

    /// <summary>A fixed ISN instead of SYN cookies (<c>--initial-seq</c>), for tests.</summary>
    public uint? InitialSequence { get; init; }

    /// <summary>The protocol's bounds: connections, their rate, the retransmission timer.</summary>
    public GatewayOptions Options { get; init; } = GatewayOptions.Default;

    /// <summary>Where the status page listens (<c>--status</c>); null for no status page.</summary>
    public IPEndPoint? StatusEndPoint { get; init; }

    /// <summary>How long a stop lets the transfers in flight go on (<c>--drain-timeout</c>).</summary>
    public TimeSpan DrainTimeout { get; init; } = DefaultDrainTimeout;

    /// <summary>Where the last good page is kept (<c>--cache-dir</c>); null for nowhere.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>How old a cached copy may be and still be served at start (<c>--max-stale</c>).</summary>
    public TimeSpan MaxStale { get; init; } = DefaultMaxStale;

    /// <summary>What <c>--page-key</c> asks of every page; null without it.</summary>
    public PageSigning? Signing { get; init; }

    /// <summary>
    /// The UDP port that serves the page's signature over the same protocol (<c>--signature-port</c>),
    /// for devices that check it themselves; none when null. Needs <see cref="Signing"/>.
    /// </summary>
    public int? SignaturePort { get; init; }

    /// <summary>Refuse a page whose first line is no command (<c>--require-command</c>).</summary>
    public bool RequireCommand { get; init; }
}
