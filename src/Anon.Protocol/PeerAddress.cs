using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Anon.Protocol;

/// <summary>
/// A peer's IP address and UDP port, by value: what the gateway keys its connections by, limits
/// rates by, filters and names. Made once at the edge from the socket's address; compared, hashed
/// and copied without allocating, and never changed behind its holder's back.
/// </summary>
/// <remarks>
/// Both families are held in IPv6 form, an IPv4 address as the IPv4-mapped IPv6 address
/// <c>::ffff:a.b.c.d</c> (RFC 4291 §2.5.5.2), which is what a dual-stack socket reports for an IPv4
/// client anyway: so one client is one peer, whichever socket it reached.
/// </remarks>
public readonly struct PeerAddress : IEquatable<PeerAddress>
{
    private static readonly UInt128 MappedPrefix = (UInt128)0xFFFF << 32;

    /// <param name="address">The 16 bytes of an IPv6 address or the 4 of an IPv4 one, in network order.</param>
    /// <param name="port">The UDP port.</param>
    /// <param name="scopeId">The IPv6 scope (interface) of a link-local address; 0 otherwise.</param>
    public PeerAddress(ReadOnlySpan<byte> address, int port, uint scopeId = 0)
    {
        if (address.Length is not (4 or 16))
        {
            throw new ArgumentException("an IP address is 4 or 16 bytes long", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)port, (uint)ushort.MaxValue, nameof(port));
        Host = address.Length == 4 ? MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(address) : BinaryPrimitives.ReadUInt128BigEndian(address);
        Port = (ushort)port;
        ScopeId = scopeId;
    }

    public PeerAddress(IPAddress address, int port)
        : this(Bytes(address, out uint scopeId), port, scopeId)
    {
    }

    /// <summary>The host part as one 128-bit number in network order (IPv4 addresses IPv4-mapped): for matching and hashing.</summary>
    public UInt128 Host { get; }

    public ushort Port { get; }

    public uint ScopeId { get; }

    /// <summary>True for an IPv4 address (held IPv4-mapped).</summary>
    public bool IsIPv4 => Host >> 32 == 0xFFFF;

    public static PeerAddress FromEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return new PeerAddress(endPoint.Address, endPoint.Port);
    }

    public static bool operator ==(PeerAddress left, PeerAddress right) => left.Equals(right);

    public static bool operator !=(PeerAddress left, PeerAddress right) => !left.Equals(right);

    /// <summary>Writes the 16 bytes of the IPv6 form, in network order.</summary>
    public void WriteIPv6(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Host);

    /// <summary>Writes the 4 bytes of an IPv4 address, in network order.</summary>
    /// <exception cref="InvalidOperationException">The address is not an IPv4 one.</exception>
    public void WriteIPv4(Span<byte> destination)
    {
        if (!IsIPv4)
        {
            throw new InvalidOperationException($"{this} is not an IPv4 address");
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Host);
    }

    /// <summary>The address as .NET's type; allocates.</summary>
    public IPEndPoint ToEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsIPv4)
        {
            WriteIPv4(bytes);
            return new IPEndPoint(new IPAddress(bytes[..4]), Port);
        }

        WriteIPv6(bytes);
        return new IPEndPoint(new IPAddress(bytes, ScopeId), Port);
    }

    public bool Equals(PeerAddress other) => Host == other.Host && Port == other.Port && ScopeId == other.ScopeId;

    public override bool Equals(object? obj) => obj is PeerAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Host, Port, ScopeId);

    /// <summary>"192.0.2.1:5000" or "[2001:db8::1]:5000", an IPv4 client shown as IPv4; allocates.</summary>
    public override string ToString() => ToEndPoint().ToString();

    private static ReadOnlySpan<byte> Bytes(IPAddress address, out uint scopeId)
    {
        ArgumentNullException.ThrowIfNull(address);
        scopeId = address.AddressFamily == AddressFamily.InterNetworkV6 ? (uint)address.ScopeId : 0;
        return address.GetAddressBytes();
    }
}
