using System.Net;
using System.Net.Sockets;
using Anon.Protocol;

namespace Anon.Io.Tests;

/// <summary>The kernel's socket addresses as bytes, to <see cref="PeerAddress"/> and back, checked against .NET's own reading.</summary>
public class SocketAddressesTests
{
    [Theory]
    [InlineData(AddressFamily.InterNetwork, "192.0.2.1", 5000)]
    [InlineData(AddressFamily.InterNetworkV6, "2001:db8::1", 65535)]
    [InlineData(AddressFamily.InterNetworkV6, "192.0.2.1", 1)] // an IPv4 client of the dual-stack socket
    [InlineData(AddressFamily.InterNetworkV6, "fe80::1%3", 6000)]
    public void Reads_and_writes_the_sockets_own_address_bytes_as_dotnet_does(AddressFamily family, string address, int port)
    {
        IPAddress ip = IPAddress.Parse(address);
        var endPoint = new IPEndPoint(family == AddressFamily.InterNetworkV6 && ip.AddressFamily == AddressFamily.InterNetwork ? ip.MapToIPv6() : ip, port);
        SocketAddress serialized = endPoint.Serialize();

        PeerAddress peer = SocketAddresses.Read(serialized);
        Assert.Equal(new PeerAddress(ip, port), peer);
        Assert.Equal(ip.AddressFamily == AddressFamily.InterNetwork ? 0 : (uint)ip.ScopeId, peer.ScopeId);

        var written = new SocketAddress(family);
        SocketAddresses.Write(peer, written);
        Assert.Equal(serialized.Size, written.Size);
        Assert.Equal(endPoint, new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0).Create(written));
    }

    [Fact]
    public void An_ipv6_peer_cannot_be_written_for_an_ipv4_socket()
    {
        var peer = new PeerAddress(IPAddress.Parse("2001:db8::1"), 1);

        Assert.Throws<InvalidOperationException>(() => SocketAddresses.Write(peer, new SocketAddress(AddressFamily.InterNetwork)));
    }

    [Fact]
    public void Reading_and_writing_allocate_nothing()
    {
        SocketAddress serialized = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 4000).Serialize();
        var written = new SocketAddress(AddressFamily.InterNetworkV6);
        SocketAddresses.Write(SocketAddresses.Read(serialized), written);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            SocketAddresses.Write(SocketAddresses.Read(serialized), written);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(serialized, written);
    }
}
