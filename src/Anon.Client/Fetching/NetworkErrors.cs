using System.Net.Sockets;

namespace Anon.Client.Fetching;

/// <summary>
/// What a fetch does about the network errors the socket reports, such as an ICMP port
/// unreachable for a SYN: by default it keeps retrying until the idle timeout, since a gateway
/// being restarted refuses for a moment.
/// </summary>
/// <param name="GiveUpOnRefusal">End the fetch at the first "nothing listens on that port" (--fail-on-refusal).</param>
/// <param name="Seen">Told each time the kind of error changes, to say that and why the client retries.</param>
public readonly record struct NetworkErrors(bool GiveUpOnRefusal = false, Action<SocketError>? Seen = null);
