using System.Net;
using Anon.Gateway.Udp;
using Anon.Protocol;

namespace Anon.Gateway.Hosting;

/// <summary>What the command line (or its configuration) says the gateway should do.</summary>
/// <param name="DrainTimeout">How long a stop lets the transfers in flight go on (<c>--drain-timeout</c>).</param>
/// <param name="CacheDirectory">Where the last good page is kept (<c>--cache-dir</c>); null for nowhere.</param>
/// <param name="MaxStale">How old a cached copy may be and still be served at start (<c>--max-stale</c>).</param>
/// <param name="Signing">What <c>--page-key</c> asks of every page; null without it.</param>
/// <param name="RequireCommand">Refuse a page whose first line is no command (<c>--require-command</c>).</param>
public sealed record GatewaySettings(
    int Port,
    Uri Url,
    TimeSpan Refresh,
    int MaximumPageSize,
    string? CaFile,
    IPAddress? BindAddress,
    AllowList? Allowed,
    uint? InitialSequence,
    GatewayOptions Options,
    IPEndPoint? StatusEndPoint = null,
    TimeSpan DrainTimeout = default,
    string? CacheDirectory = null,
    TimeSpan MaxStale = default,
    Anon.Gateway.Page.PageSigning? Signing = null,
    bool RequireCommand = false)
{
    /// <summary>A week: a command a week old is still the last one its publisher gave; older than that, starting fails.</summary>
    public static readonly TimeSpan DefaultMaxStale = TimeSpan.FromDays(7);

    /// <summary>
    /// A transfer takes milliseconds on a local network and about 15 s at worst through every
    /// retransmission; 5 s finishes the ordinary ones and stays within systemd's stop timeout.
    /// </summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(5);
}
