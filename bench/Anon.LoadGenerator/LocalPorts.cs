using System.Net;
using System.Net.Sockets;

namespace Anon.LoadGenerator;

/// <summary>Ports free on 127.0.0.1 a moment ago, for a gateway that must keep its port across a restart and for its status page.</summary>
internal static class LocalPorts
{
    public static int FreeUdp()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static int FreeTcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
