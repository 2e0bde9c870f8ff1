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
}
