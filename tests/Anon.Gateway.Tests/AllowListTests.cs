using System.Net;
using Anon.Gateway.Udp;
using Anon.Protocol;

namespace Anon.Gateway.Tests;

public class AllowListTests
{
    private static readonly AllowList List = new([IPNetwork.Parse("192.168.2.0/24"), IPNetwork.Parse("10.1.0.0/17"), IPNetwork.Parse("fd00::/8")]);

    [Theory]
    [InlineData("192.168.2.1", true)]
    [InlineData("192.168.2.255", true)]
    [InlineData("192.168.3.1", false)]
    [InlineData("10.1.127.255", true)]
    [InlineData("10.1.128.0", false)]
    [InlineData("fd12:3456::1", true)]
    [InlineData("fe80::1", false)]
    [InlineData("127.0.0.1", false)]
    public void Matches_addresses_by_prefix(string address, bool allowed)
    {
        Assert.Equal(allowed, List.Allows(new PeerAddress(IPAddress.Parse(address), 5000)));
    }

    [Fact]
    public void An_ipv4_client_of_the_dual_stack_socket_is_matched_as_ipv4()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("192.168.2.7").MapToIPv6(), 5000);

        Assert.True(List.Allows(PeerAddress.FromEndPoint(mapped)));
        Assert.False(List.Allows(new PeerAddress(IPAddress.Parse("192.168.9.7").MapToIPv6(), 5000)));
    }

    [Fact]
    public void Checking_allocates_nothing()
    {
        var address = new PeerAddress(IPAddress.Parse("192.168.2.7").MapToIPv6(), 5000);
        List.Allows(address);
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool all = true;
        for (int i = 0; i < 1000; i++)
        {
            all &= List.Allows(address);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(all);
    }
}
