using System.Net;

namespace Anon.Protocol.Tests;

public class PeerAddressTests
{
    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1:5000")]
    [InlineData("2001:db8::1", "[2001:db8::1]:5000")]
    public void Describes_a_client_of_either_family(string address, string expected)
    {
        Assert.Equal(expected, new PeerAddress(IPAddress.Parse(address), 5000).ToString());
    }

    [Fact]
    public void Describes_an_ipv4_client_of_the_dual_stack_socket_as_ipv4()
    {
        Assert.Equal("192.0.2.1:5000", new PeerAddress(IPAddress.Parse("192.0.2.1").MapToIPv6(), 5000).ToString());
    }

    [Fact]
    public void An_ipv4_client_is_one_peer_whichever_socket_family_reported_it()
    {
        var direct = new PeerAddress(IPAddress.Parse("192.0.2.1"), 5000);
        var mapped = new PeerAddress(IPAddress.Parse("192.0.2.1").MapToIPv6(), 5000);

        Assert.Equal(direct, mapped);
        Assert.Equal(direct.GetHashCode(), mapped.GetHashCode());
        Assert.True(direct.IsIPv4);
        Assert.NotEqual(direct, new PeerAddress(IPAddress.Parse("192.0.2.1"), 5001));
        Assert.NotEqual(direct, new PeerAddress(IPAddress.Parse("::192.0.2.1"), 5000)); // IPv4-compatible, a different address
    }

    [Fact]
    public void A_link_local_client_keeps_its_scope_and_is_another_peer_on_another_interface()
    {
        var onFirst = new PeerAddress(IPAddress.Parse("fe80::1%1"), 5000);
        var onSecond = new PeerAddress(IPAddress.Parse("fe80::1%2"), 5000);

        Assert.Equal(1u, onFirst.ScopeId);
        Assert.True(onFirst != onSecond);
        Assert.False(onFirst != new PeerAddress(IPAddress.Parse("fe80::1%1"), 5000));
        Assert.Equal(IPAddress.Parse("fe80::1%1"), onFirst.ToEndPoint().Address);
    }

    [Fact]
    public void An_address_of_another_length_or_a_port_beyond_16_bits_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new PeerAddress(new byte[5], 5000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerAddress(new byte[4], 65536));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerAddress(new byte[4], -1));
        Assert.Equal(65535, new PeerAddress(new byte[4], 65535).Port);
    }

    [Fact]
    public void An_ipv6_address_has_no_ipv4_form()
    {
        var peer = new PeerAddress(IPAddress.Parse("2001:db8::1"), 5000);

        Assert.False(peer.IsIPv4);
        Assert.Throws<InvalidOperationException>(() => peer.WriteIPv4(new byte[4]));
    }
}
