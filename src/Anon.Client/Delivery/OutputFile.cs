using Anon.Io;

namespace Anon.Client.Delivery;

/// <summary>
/// The file the content goes to, written whole or not at all: the bytes go to a temporary file beside
/// it, which replaces the target only once complete and flushed to disk. The temporary file is
/// created up front, so an unwritable path fails before any network traffic.
/// </summary>
public sealed class OutputFile : IDisposable
{
    private readonly string _path;
    private readonly string _temporaryPath;
    private FileStream? _temporary;
    private bool _committed;

    private OutputFile(string path, string temporaryPath, FileStream temporary)
    {
        _path = path;
        _temporaryPath = temporaryPath;
        _temporary = temporary;
    }

    /// <exception cref="FileWriteException">The directory does not exist or cannot be written.</exception>
    public static OutputFile Create(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string temporaryPath = Path.Combine(
            Path.GetDirectoryName(fullPath) ?? ".", $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.part");
        try
        {
            if (Directory.Exists(fullPath))
            {
                throw new IOException("it is a directory");
            }

            var temporary = new FileStream(temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None);
            return new OutputFile(fullPath, temporaryPath, temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Said of the file asked for, not of the hidden temporary file beside it that failed.
            throw FileWriteException.Creating("the output file", path, e, e.Message.Replace(temporaryPath, fullPath, StringComparison.Ordinal));
        }
    }

    /// <summary>Writes the complete content and moves it into place.</summary>
    public void Commit(ReadOnlySpan<byte> content)
    {
        FileStream temporary = _temporary ?? throw new InvalidOperationException("the output file was already committed");
        try
        {
            temporary.Write(content);
            temporary.Flush(flushToDisk: true);
            temporary.Dispose();
            _temporary = null;
            File.Move(_temporaryPath, _path, overwrite: true);
            _committed = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileWriteException($"cannot write the output file '{_path}': {e.Message}", e);
        }
    }

    /// <summary>Removes the temporary file unless the content was committed.</summary>
    public void Dispose()
    {
        _temporary?.Dispose();
        _temporary = null;
        if (!_committed)
        {
            File.Delete(_temporaryPath);
        }
    }
}
