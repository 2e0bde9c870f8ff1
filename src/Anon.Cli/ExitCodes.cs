using Anon.Io;

namespace Anon.Cli;

/// <summary>
/// Exit codes of both programs, from BSD's sysexits.h so that shells and systemd read them the same
/// way everywhere.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>EX_USAGE: a missing or malformed option (bad port, bad URL).</summary>
    public const int Usage = 64;

    /// <summary>EX_DATAERR: the page arrived but its first line is not a command we know.</summary>
    public const int UnknownCommand = 65;

    /// <summary>EX_NOHOST: the gateway's host name does not resolve.</summary>
    public const int UnknownHost = 68;

    /// <summary>EX_UNAVAILABLE: the network failed us: gateway silent, transfer given up, download failed, port in use; or a program or library a command needs is missing.</summary>
    public const int Unavailable = 69;

    /// <summary>EX_SOFTWARE: a bug. The message is printed; set ANON_DEBUG=1 for the stack trace.</summary>
    public const int InternalError = 70;

    /// <summary>EX_OSERR: the LED's GPIO pin cannot be driven (no such chip or pin, pin busy, no permission).</summary>
    public const int GpioError = 71;

    /// <summary>EX_CANTCREAT: the log or output file cannot be written.</summary>
    public const int CannotCreate = 73;

    /// <summary>EX_PROTOCOL: under --page-key, the page's signature is missing or bad, or the page is a rollback or too old.</summary>
    public const int PageRefused = 76;

    /// <summary>The exit code for a kind of failure: the one place the programs' failures become numbers.</summary>
    public static int For(OperationFailedException failure) => failure switch
    {
        UsageException => Usage,
        UnknownCommandException => UnknownCommand,
        UnknownHostException => UnknownHost,
        ListenFailedException or DownloadFailedException or TransferFailedException or MissingDependencyException => Unavailable,
        LedFailedException => GpioError,
        FileWriteException => CannotCreate,
        PageRefusedException => PageRefused,
        _ => InternalError,
    };
}
