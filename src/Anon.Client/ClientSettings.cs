using System.Net;
using System.Net.Sockets;
using Anon.Client.Delivery;
using Anon.Io;
using Anon.Protocol;
using Anon.Client.Signing;

namespace Anon.Client;

/// <summary>What the command line (or its configuration) says the client should do, each setting by name.</summary>
internal sealed record ClientSettings
{
    /// <summary>The gateway: an address or a host name (<c>--server</c>).</summary>
    public required string Host { get; init; }

    /// <summary>The gateway's UDP port (<c>--port</c>).</summary>
    public required int Port { get; init; }

    /// <summary>The packet log (<c>--log</c>).</summary>
    public required string LogPath { get; init; }

    /// <summary>Where the page is written (<c>--file</c>).</summary>
    public required string OutputPath { get; init; }

    /// <summary>The protocol's bounds: the idle timeout, the linger, the retransmission timer.</summary>
    public ClientOptions Options { get; init; } = ClientOptions.Default;

    /// <summary>A fixed ISN (<c>--initial-seq</c>); random when null.</summary>
    public uint? InitialSequence { get; init; }

    /// <summary>The LED the command switches: a GPIO pin, or the simulated one.</summary>
    public required ILed Led { get; init; }

    /// <summary>Where to draw the transfer (<c>--diagram</c>), if anywhere.</summary>
    public string? DiagramPath { get; init; }

    /// <summary>Give up at the first "nothing listens on that port" (<c>--fail-on-refusal</c>).</summary>
    public bool FailOnRefusal { get; init; }

    /// <summary>The page checked against its publisher's signature (<c>--page-key</c>); null without a key.</summary>
    public SignedFetch? Signing { get; init; }

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
