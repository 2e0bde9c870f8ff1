using System.Net;

namespace Anon.Gateway.Tests;

public class GatewayServerTests
{
    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1:5000")]
    [InlineData("2001:db8::1", "[2001:db8::1]:5000")]
    public void Describes_a_client_of_either_family(string address, string expected)
    {
        Assert.Equal(expected, GatewayServer.Describe(new IPEndPoint(IPAddress.Parse(address), 5000).Serialize()));
    }

    [Fact]
    public void Describes_an_ipv4_client_of_the_dual_stack_socket_as_ipv4()
    {
        Assert.Equal("192.0.2.1:5000", GatewayServer.Describe(new IPEndPoint(IPAddress.Parse("192.0.2.1").MapToIPv6(), 5000).Serialize()));
    }
}
