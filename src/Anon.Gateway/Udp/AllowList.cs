using System.Net;
using Anon.Protocol;

namespace Anon.Gateway.Udp;

/// <summary>
/// The client networks the gateway answers (<c>--allow CIDR</c>, repeatable). Checked for every
/// datagram on the <see cref="PeerAddress"/>, so it allocates nothing. Networks and addresses are
/// compared in IPv6 form, an IPv4 network as the IPv4-mapped one (<c>::ffff:a.b.c.d/96+n</c>): an
/// IPv4 client is matched as the IPv4 address it is, whichever socket it reached.
/// </summary>
public sealed class AllowList
{
    private readonly (UInt128 Prefix, UInt128 Mask)[] _networks;

    public AllowList(IEnumerable<IPNetwork> networks)
    {
        _networks = [.. networks.Select(Mapped)];
    }

    /// <summary>True when <paramref name="address"/> lies in one of the networks.</summary>
    public bool Allows(in PeerAddress address)
    {
        foreach ((UInt128 prefix, UInt128 mask) in _networks)
        {
            if ((address.Host & mask) == prefix)
            {
                return true;
            }
        }

        return false;
    }

    private static (UInt128 Prefix, UInt128 Mask) Mapped(IPNetwork network)
    {
        var peer = new PeerAddress(network.BaseAddress, 0);
        int bits = network.PrefixLength + (peer.IsIPv4 ? 96 : 0);
        UInt128 mask = bits == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - bits);
        return (peer.Host & mask, mask);
    }
}
