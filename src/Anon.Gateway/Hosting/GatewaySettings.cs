using System.Net;
using Anon.Gateway.Udp;
using Anon.Protocol;

namespace Anon.Gateway.Hosting;

/// <summary>What the command line (or its configuration) says the gateway should do.</summary>
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
    IPEndPoint? StatusEndPoint = null);
