using Anon.Protocol;

namespace Anon.LoadGenerator;

/// <summary>When each of the batched sessions fetches, for sessions that wait between fetches as watching devices do.</summary>
internal interface ISessionSchedule
{
    /// <summary>When session <paramref name="session"/> begins its first fetch, on the engine's clock.</summary>
    TimeSpan FirstStart(int session);

    /// <summary>
    /// Session <paramref name="session"/>'s fetch begun at <paramref name="started"/> ended at
    /// <paramref name="now"/> (complete, or failed): how long it waits before the next.
    /// </summary>
    TimeSpan Next(int session, TimeSpan started, TimeSpan now, ClientConnection fetch);
}
