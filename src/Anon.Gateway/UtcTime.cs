using System.Globalization;

namespace Anon.Gateway;

/// <summary>A moment as the gateway says it to people (log, stderr, status page): "2026-12-01 16:51:39 UTC".</summary>
internal static class UtcTime
{
    public static string Of(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
