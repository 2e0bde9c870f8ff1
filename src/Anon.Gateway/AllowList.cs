using System.Net;
using System.Net.Sockets;

namespace Anon.Gateway;

/// <summary>
/// The client networks the gateway answers (<c>--allow CIDR</c>, repeatable). Checked for every
/// datagram against the raw socket address, so it allocates nothing; an IPv4 client of the
/// dual-stack socket (::ffff:a.b.c.d) is matched as the IPv4 address it is.
/// </summary>
public sealed class AllowList
{
    private readonly (byte[] Prefix, int Bits)[] _networks;

    public AllowList(IEnumerable<IPNetwork> networks)
    {
        _networks = [.. networks.Select(n => (n.BaseAddress.GetAddressBytes(), n.PrefixLength))];
    }

    /// <summary>True when <paramref name="address"/> lies in one of the networks.</summary>
    public bool Allows(SocketAddress address)
    {
        ReadOnlySpan<byte> raw = address.Buffer.Span[..address.Size];
        ReadOnlySpan<byte> host = address.Family switch
        {
            // sockaddr_in: the address at offset 4; sockaddr_in6: at offset 8, 16 bytes.
            AddressFamily.InterNetwork when raw.Length >= 8 => raw.Slice(4, 4),
            AddressFamily.InterNetworkV6 when raw.Length >= 24 => raw.Slice(8, 16),
            _ => default,
        };
        if (host.Length == 16 && host[..10].IndexOfAnyExcept((byte)0) < 0 && host[10] == 0xFF && host[11] == 0xFF)
        {
            host = host[12..]; // IPv4-mapped
        }

        foreach ((byte[] prefix, int bits) in _networks)
        {
            if (prefix.Length == host.Length && MatchesPrefix(host, prefix, bits))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MatchesPrefix(ReadOnlySpan<byte> address, ReadOnlySpan<byte> prefix, int bits)
    {
        int whole = bits / 8;
        if (!address[..whole].SequenceEqual(prefix[..whole]))
        {
            return false;
        }

        int rest = bits % 8;
        int mask = 0xFF << (8 - rest) & 0xFF;
        return rest == 0 || (address[whole] & mask) == (prefix[whole] & mask);
    }
}
