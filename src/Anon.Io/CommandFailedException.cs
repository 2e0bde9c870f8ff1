namespace Anon.Io;

/// <summary>
/// A failure to report to the user as one line on stderr and an exit code, without a stack trace.
/// </summary>
public sealed class CommandFailedException : Exception
{
    public CommandFailedException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException) => ExitCode = exitCode;

    public CommandFailedException()
    {
    }

    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int ExitCode { get; } = ExitCodes.InternalError;
}
