using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Anon.Protocol;

/// <summary>
/// Chooses the gateway's ISN for a client's SYN and recognises it again in the handshake ACK, so that
/// the gateway keeps no state between the two.
/// </summary>
public interface ISynCookieGenerator
{
    /// <summary>The gateway ISN to put in the SYN|ACK answering <paramref name="clientIsn"/> from <paramref name="client"/>.</summary>
    SequenceNumber Issue(PeerAddress client, SequenceNumber clientIsn, TimeSpan now);

    /// <summary>True when <paramref name="gatewayIsn"/> is what <see cref="Issue"/> gave, or would have given, this client recently.</summary>
    bool Verify(PeerAddress client, SequenceNumber clientIsn, SequenceNumber gatewayIsn, TimeSpan now);
}

/// <summary>
/// SYN cookies (RFC 4987 §3.6): the ISN is a keyed hash of the client's address and port, its ISN and
/// a coarse time slot. Only a client that received the SYN|ACK at its address can echo it back, so a
/// flood of SYNs from forged addresses costs the gateway one hash each and no memory. A cookie is
/// accepted in the slot it was issued in and the next one: for 64 to 128 s.
/// </summary>
public sealed class KeyedSynCookies : ISynCookieGenerator
{
    public static readonly TimeSpan SlotLength = TimeSpan.FromSeconds(64);

    private const int KeySize = 32;

    // What a cookie hashes: the slot, the client's ISN, then its address, port and scope.
    private const int MessageSize = sizeof(long) + sizeof(uint) + 16 + sizeof(ushort) + sizeof(uint);

    // One HMAC reused for every cookie, so that answering a SYN allocates nothing; the core runs on
    // one thread, which is all an IncrementalHash allows.
    private readonly IncrementalHash _hmac;

    /// <param name="key">A secret of 32 bytes; <see cref="CreateRandom"/> draws one.</param>
    public KeyedSynCookies(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"the key must be {KeySize} bytes", nameof(key));
        }

        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
    }

    public static KeyedSynCookies CreateRandom() => new(RandomNumberGenerator.GetBytes(KeySize));

    public SequenceNumber Issue(PeerAddress client, SequenceNumber clientIsn, TimeSpan now) =>
        Compute(client, clientIsn, Slot(now));

    public bool Verify(PeerAddress client, SequenceNumber clientIsn, SequenceNumber gatewayIsn, TimeSpan now)
    {
        long slot = Slot(now);
        return Compute(client, clientIsn, slot) == gatewayIsn || Compute(client, clientIsn, slot - 1) == gatewayIsn;
    }

    private static long Slot(TimeSpan now) => now.Ticks / SlotLength.Ticks;

    private SequenceNumber Compute(PeerAddress client, SequenceNumber clientIsn, long slot)
    {
        Span<byte> message = stackalloc byte[MessageSize];
        BinaryPrimitives.WriteInt64BigEndian(message, slot);
        BinaryPrimitives.WriteUInt32BigEndian(message[8..], clientIsn.Value);
        client.WriteIPv6(message[12..]);
        BinaryPrimitives.WriteUInt16BigEndian(message[28..], client.Port);
        BinaryPrimitives.WriteUInt32BigEndian(message[30..], client.ScopeId);

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        _hmac.AppendData(message);
        _hmac.GetHashAndReset(mac);
        return new SequenceNumber(BinaryPrimitives.ReadUInt32BigEndian(mac));
    }
}

/// <summary>
/// The same ISN for every client: for tests and for replaying the spec's sample exchange
/// (<c>--initial-seq</c>). Predictable, so it proves nothing about a client's address.
/// </summary>
public sealed class FixedSynCookie(SequenceNumber initialSequence) : ISynCookieGenerator
{
    public SequenceNumber Issue(PeerAddress client, SequenceNumber clientIsn, TimeSpan now) => initialSequence;

    public bool Verify(PeerAddress client, SequenceNumber clientIsn, SequenceNumber gatewayIsn, TimeSpan now) =>
        gatewayIsn == initialSequence;
}
