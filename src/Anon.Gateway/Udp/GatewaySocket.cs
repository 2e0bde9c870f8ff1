using System.Net;
using System.Net.Sockets;
using Anon.Io;

namespace Anon.Gateway.Udp;

/// <summary>The gateway's UDP socket: its own, or the one systemd passed.</summary>
public static class GatewaySocket
{
    /// <summary>sd_listen_fds(3): the first socket passed is descriptor 3.</summary>
    private const int FirstPassedDescriptor = 3;

    /// <summary>
    /// The socket to serve on: the one systemd passed (socket activation), else one bound to
    /// <paramref name="port"/> and <paramref name="bindAddress"/>. A passed socket wins; what it makes
    /// of <c>--port</c> and <c>--bind</c> is said in the log (and a <c>--bind</c> ignored on stderr too,
    /// for the journal: the gateway then serves every address the socket does).
    /// </summary>
    /// <exception cref="ListenFailedException">The port cannot be taken, or the passed descriptor is not a UDP socket.</exception>
    public static (Socket Socket, bool PassedBySystemd) Open(int port, IPAddress? bindAddress, PacketLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (FromSystemd() is not { } socket)
        {
            return (Bind(port, bindAddress), false);
        }

        var local = (IPEndPoint)socket.LocalEndPoint!;
        log.Event($"using the UDP socket systemd passed (socket activation, LISTEN_FDS), bound to {local}");
        if (local.Port != port && port != 0)
        {
            log.Event($"note: --port {port} is ignored: the passed socket is on port {local.Port}");
        }

        if (bindAddress is not null && !bindAddress.Equals(local.Address))
        {
            string note = $"note: --bind {bindAddress} is ignored: the socket systemd passed is bound to {local} (give its address in anon-gateway.socket's ListenDatagram=)";
            log.Event(note);
            Console.Error.WriteLine($"anonGateway: {note}");
        }

        return (socket, true);
    }

    /// <summary>
    /// The socket systemd passed under socket activation (sd_listen_fds(3): <c>LISTEN_PID</c> is this
    /// process and <c>LISTEN_FDS</c> at least 1; the first socket is descriptor 3), or null when the
    /// process was not started that way. The variables are removed, so that no child takes them.
    /// </summary>
    /// <exception cref="ListenFailedException">The passed descriptor is not a UDP socket.</exception>
    public static Socket? FromSystemd()
    {
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        string? count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        if (pid is null || count is null
            || !int.TryParse(pid, System.Globalization.CultureInfo.InvariantCulture, out int listenPid) || listenPid != Environment.ProcessId
            || !int.TryParse(count, System.Globalization.CultureInfo.InvariantCulture, out int descriptors) || descriptors < 1)
        {
            return null;
        }

        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        try
        {
            var socket = new Socket(new SafeSocketHandle(FirstPassedDescriptor, ownsHandle: true));
            if (socket.SocketType != SocketType.Dgram || socket.LocalEndPoint is not IPEndPoint)
            {
                socket.Dispose();
                throw new ListenFailedException("the socket systemd passed is not a bound UDP socket: give anon-gateway.socket a ListenDatagram= line");
            }

            return socket;
        }
        catch (SocketException e)
        {
            throw new ListenFailedException($"cannot use the socket systemd passed (descriptor {FirstPassedDescriptor}): {e.Message}", e);
        }
    }

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
