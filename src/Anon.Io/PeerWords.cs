using System.Text;
using Anon.Protocol;

namespace Anon.Io;

/// <summary>
/// The words both programs log for the core's drop reasons and accepted readings: the core names
/// them, the edge says them (PROTOCOL.md "What we accept from others").
/// </summary>
public static class PeerWords
{
    /// <summary>Why a transfer failed, as a clause: "no answer from the gateway within 10 s".</summary>
    public static string Describe(ClientFailure failure)
    {
        string idle = $"{failure.IdleTimeout.TotalSeconds:0.###} s";
        return failure.Kind switch
        {
            ClientFailureKind.NoAnswer => $"no answer from the gateway within {idle}",
            ClientFailureKind.NoData => $"the gateway answered the handshake but sent no data for {idle}",
            ClientFailureKind.Stalled => $"the transfer stalled: nothing from the gateway for {idle} after {failure.BytesReceived} bytes",
            _ => $"the gateway sent more than the maximum of {failure.MaximumContentLength} bytes",
        };
    }

    /// <summary>A short phrase: "a segment that does not start at the next expected byte".</summary>
    public static string Describe(DropReason reason) => reason switch
    {
        DropReason.TooShort => "a datagram shorter than the 12-byte header",
        DropReason.UnexpectedFlags => "a combination of flags this side never takes",
        DropReason.ClientPayload => "a client datagram with a payload (clients send headers only)",
        DropReason.NoConnection => "a datagram for no connection, and no handshake ACK echoing a valid cookie",
        DropReason.AckOutOfRange => "an acknowledgment of bytes never sent",
        DropReason.FinWithoutAck => "a FIN without ACK before the last segment was acknowledged (it acknowledges nothing)",
        DropReason.TableFull => "a handshake while the connection table was full",
        DropReason.RateLimited => "a handshake over the per-source connection rate",
        DropReason.Draining => "a SYN while the gateway was stopping",
        DropReason.TransferEnded => "a datagram after the transfer ended",
        DropReason.SynAckWrongAck => "a SYN|ACK whose ack is not our ISN + 1",
        DropReason.SynAckPayload => "a SYN|ACK with a payload",
        DropReason.SynAckOtherIsn => "a SYN|ACK with another gateway ISN than the one taken",
        DropReason.DataBeforeHandshake => "a data segment before the SYN|ACK",
        DropReason.Oversize => "a payload longer than 512 bytes",
        DropReason.OutOfOrder => "a segment that does not start at the next expected byte",
        DropReason.EmptyWithoutFin => "an empty segment without FIN (nothing to acknowledge)",
        DropReason.DataAfterFin => "new data after the FIN",
        _ => reason.ToString(),
    };

    /// <summary>The accepted readings, joined: "the last segment's FIN without ACK; ...", or "" for none.</summary>
    public static string Describe(PeerLeniency leniencies)
    {
        if (leniencies == PeerLeniency.None)
        {
            return "";
        }

        var words = new StringBuilder();
        foreach (PeerLeniency one in Enum.GetValues<PeerLeniency>())
        {
            if (one == PeerLeniency.None || (leniencies & one) == 0)
            {
                continue;
            }

            words.Append(words.Length == 0 ? "" : "; ").Append(one switch
            {
                PeerLeniency.FinWithoutAck => "the last segment carried FIN without ACK, as the spec's sample draws it",
                PeerLeniency.DataWithoutAck => "data segments without the ACK flag",
                PeerLeniency.FinTakesSequenceNumber => "the FIN acknowledged as one sequence number (TCP's habit)",
                PeerLeniency.PlainAckBeforeFin => "a plain ACK of the last segment before the FIN",
                PeerLeniency.ClosedWithBareFin => "a close with FIN without ACK",
                _ => one.ToString(),
            });
        }

        return words.ToString();
    }
}
