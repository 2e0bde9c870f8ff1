using Anon.Protocol;

namespace Anon.Io;

/// <summary>
/// Something the programs could not do, told to the user as one line (<see cref="Exception.Message"/>)
/// without a stack trace. Each kind is a type of its own, for the code that recovers from it (the
/// watch retries a failed transfer, the refresher keeps serving when a download fails); the command
/// line maps each kind to its exit code once (<c>Anon.Cli.ExitCodes.For</c>).
/// </summary>
/// <remarks>Each kind needs its message, so the parameterless constructors of CA1032 are left out.</remarks>
public abstract class OperationFailedException(string message, Exception? innerException)
    : Exception(message, innerException);

/// <summary>The options, or the settings file, ask for something that cannot be done.</summary>
public sealed class UsageException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>The page arrived but its first line is not a command this client knows.</summary>
public sealed class UnknownCommandException(string message)
    : OperationFailedException(message, null);

/// <summary>The gateway's host name does not resolve.</summary>
public sealed class UnknownHostException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>A socket cannot be had: the gateway's UDP port, or the status page's address.</summary>
public sealed class ListenFailedException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>The gateway could not download the page: unreachable, an HTTP error, too large, too slow.</summary>
public sealed class DownloadFailedException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>
/// The gateway refused a page under <c>--page-key</c>: its signature is missing, malformed, by
/// another key or does not match, or the page is older than one accepted before (a rollback) or
/// than <c>--max-page-age</c>.
/// </summary>
public sealed class PageRefusedException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>The client's transfer did not complete: <see cref="Failure"/> says why, or null when a signal stopped it.</summary>
public sealed class TransferFailedException(string message, ClientFailure? failure)
    : OperationFailedException(message, null)
{
    public ClientFailure? Failure { get; } = failure;
}

/// <summary>
/// Something a command needs besides its options is not there: the native library that checks
/// signatures (<c>--page-key</c>), or the programs and scripts of a clone that anon-lab's demo and
/// testbed run (sysexits' EX_UNAVAILABLE: "a support program or file does not exist").
/// </summary>
public sealed class MissingDependencyException(string message) : OperationFailedException(message, null);

/// <summary>The LED's GPIO pin cannot be driven: no such chip or pin, pin busy, no permission.</summary>
public sealed class LedFailedException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException);

/// <summary>A file the program writes (log, page, LED state) cannot be written.</summary>
public sealed class FileWriteException(string message, Exception? innerException = null)
    : OperationFailedException(message, innerException)
{
    /// <summary>
    /// "cannot write the log file 'x/y.log': the folder 'x' does not exist": the reason in words a
    /// user acts on for the two failures met first (a missing folder, no permission), rather than
    /// .NET's "Could not find a part of the path"; the system's message for the rest.
    /// </summary>
    /// <param name="what">"the log file", "the output file".</param>
    /// <param name="path">The path as the user gave it.</param>
    /// <param name="systemMessage">The failure's own message, when it names another path than <paramref name="path"/>.</param>
    public static FileWriteException Creating(string what, string path, Exception failure, string? systemMessage = null)
    {
        ArgumentNullException.ThrowIfNull(failure);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string reason = failure switch
        {
            DirectoryNotFoundException => $"the folder '{folder}' does not exist",
            UnauthorizedAccessException => $"no permission to write in '{folder}'",
            _ => systemMessage ?? failure.Message,
        };
        return new FileWriteException($"cannot write {what} '{path}': {reason}", failure);
    }
}
