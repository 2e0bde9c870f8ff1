using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Anon.Protocol;

namespace Anon.Io;

/// <summary>
/// The one place that reads and writes the kernel's socket addresses (<c>sockaddr_in</c>,
/// <c>sockaddr_in6</c>) as bytes, to turn them into <see cref="PeerAddress"/> values and back
/// without allocating.
/// </summary>
/// <remarks>
/// Layouts (the same on Linux, the BSDs and Windows): the family first (2 bytes), then the port at
/// offset 2 in network order; IPv4: the address at offset 4; IPv6: the flow information at 4, the
/// address at 8, the scope id at 24 in host order.
/// </remarks>
public static class SocketAddresses
{
    private const int PortOffset = 2;
    private const int IPv4Offset = 4;
    private const int IPv6Offset = 8;
    private const int ScopeIdOffset = 24;

    // Zeroed addresses with the family field as this platform writes it, copied as the start of each one written.
    private static readonly SocketAddress IPv4Template = new(AddressFamily.InterNetwork);
    private static readonly SocketAddress IPv6Template = new(AddressFamily.InterNetworkV6);

    /// <summary>The size of a socket address of <paramref name="family"/>: 16 for IPv4, 28 for IPv6.</summary>
    public static int SizeOf(AddressFamily family) => Template(family).Size;

    /// <summary>Reads a socket address of <paramref name="family"/> (the socket's) from its bytes.</summary>
    /// <exception cref="ArgumentException">Too short for its family, or not an IP family.</exception>
    public static PeerAddress Read(AddressFamily family, ReadOnlySpan<byte> address)
    {
        if (address.Length < SizeOf(family))
        {
            throw new ArgumentException($"a socket address of {family} needs {SizeOf(family)} bytes, not {address.Length}", nameof(address));
        }

        int port = BinaryPrimitives.ReadUInt16BigEndian(address[PortOffset..]);
        return family == AddressFamily.InterNetwork
            ? new PeerAddress(address.Slice(IPv4Offset, 4), port)
            : new PeerAddress(address.Slice(IPv6Offset, 16), port, MemoryMarshal.Read<uint>(address[ScopeIdOffset..]));
    }

    public static PeerAddress Read(SocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return Read(address.Family, address.Buffer.Span[..address.Size]);
    }

    /// <summary>
    /// Writes <paramref name="peer"/> as a socket address of <paramref name="family"/> (the socket's:
    /// an IPv4 peer of an IPv6 socket as its IPv4-mapped address); returns its size.
    /// </summary>
    /// <exception cref="InvalidOperationException">An IPv6 peer for an IPv4 socket.</exception>
    public static int Write(in PeerAddress peer, AddressFamily family, Span<byte> destination)
    {
        SocketAddress template = Template(family);
        int size = template.Size;
        template.Buffer.Span[..size].CopyTo(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[PortOffset..], peer.Port);
        if (family == AddressFamily.InterNetwork)
        {
            peer.WriteIPv4(destination[IPv4Offset..]);
        }
        else
        {
            peer.WriteIPv6(destination[IPv6Offset..]);
            uint scopeId = peer.ScopeId;
            MemoryMarshal.Write(destination[ScopeIdOffset..], in scopeId);
        }

        return size;
    }

    /// <summary>Writes <paramref name="peer"/> into <paramref name="destination"/>, a reused address of the socket's family.</summary>
    public static void Write(in PeerAddress peer, SocketAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Size = Write(peer, destination.Family, destination.Buffer.Span);
    }

    private static SocketAddress Template(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => IPv4Template,
        AddressFamily.InterNetworkV6 => IPv6Template,
        _ => throw new ArgumentException($"not an IP address family: {family}", nameof(family)),
    };
}
