using System.Net;
using System.Net.Sockets;
using Anon.Io;

namespace Anon.Gateway.Udp;

/// <summary>The gateway's UDP socket.</summary>
public static class GatewaySocket
{
    /// <summary>
    /// Binds a UDP socket on every address: IPv6 and, through a dual-mode socket, IPv4 too; IPv4 only
    /// where the system has no IPv6.
    /// </summary>
    /// <exception cref="ListenFailedException">The port is in use or not ours to take.</exception>
    /// <param name="address">Serve on this address only (<c>--bind</c>), such as the device network's; null for all.</param>
    public static Socket Bind(int port, IPAddress? address = null)
    {
        Socket socket = address is not null
            ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : Socket.OSSupportsIPv6
                ? new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true }
                : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            address ??= socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string reason = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"UDP port {port} is already in use",
                SocketError.AccessDenied => $"not allowed to use UDP port {port} (ports below 1024 need privileges)",
                SocketError.AddressNotAvailable => $"cannot listen on {address}: no interface of this machine has that address",
                _ => $"cannot listen on UDP port {port}: {e.Message}",
            };
            throw new ListenFailedException(reason, e);
        }
    }
}
