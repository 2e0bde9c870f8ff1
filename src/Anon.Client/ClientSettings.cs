using System.Net;
using System.Net.Sockets;
using Anon.Client.Delivery;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>What the command line (or its configuration) says the client should do.</summary>
/// <param name="Host">The gateway: an address or a host name.</param>
/// <param name="DiagramPath">Where to draw the transfer (--diagram), if anywhere.</param>
/// <param name="FailOnRefusal">Give up at the first "nothing listens on that port" (--fail-on-refusal).</param>
internal sealed record ClientSettings(
    string Host,
    int Port,
    string LogPath,
    string OutputPath,
    ClientOptions Options,
    uint? InitialSequence,
    ILed Led,
    string? DiagramPath,
    bool FailOnRefusal)
{
    /// <summary>--diagram -: the diagram has standard output to itself, and the status lines go to standard error.</summary>
    public TextWriter Status => DiagramPath == "-" ? Console.Error : Console.Out;

    /// <summary>The gateway's address: the host as given, or its name resolved (an IPv4 address preferred).</summary>
    /// <exception cref="UnknownHostException">The name does not resolve.</exception>
    public IPEndPoint Gateway()
    {
        if (IPAddress.TryParse(Host.Trim('[', ']'), out IPAddress? address))
        {
            return new IPEndPoint(address, Port);
        }

        try
        {
            IPAddress[] addresses = Dns.GetHostAddresses(Host);
            IPAddress chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                ?? addresses.FirstOrDefault()
                ?? throw new UnknownHostException($"the gateway's name '{Host}' has no address");
            return new IPEndPoint(chosen, Port);
        }
        catch (SocketException e)
        {
            throw new UnknownHostException($"cannot resolve the gateway's name '{Host}': {e.Message}", e);
        }
    }
}
