using Anon.Io;
using Microsoft.Win32.SafeHandles;

namespace Anon.Client.Delivery;

/// <summary>
/// The file the content goes to, written whole or not at all: the bytes go to a temporary file beside
/// it, which replaces the target only once complete and flushed to disk. The temporary file is
/// created up front, so an unwritable path fails before any network traffic.
/// </summary>
public sealed class OutputFile : IDisposable
{
    private readonly string _path;
    private readonly string _what;
    private readonly string _temporaryPath;
    private FileStream? _temporary;
    private bool _committed;

    private OutputFile(string path, string what, string temporaryPath, FileStream temporary)
    {
        _path = path;
        _what = what;
        _temporaryPath = temporaryPath;
        _temporary = temporary;
    }

    /// <param name="what">What the file is, for a failure's message.</param>
    /// <exception cref="FileWriteException">The directory does not exist or cannot be written.</exception>
    public static OutputFile Create(string path, string what = "the output file")
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
            return new OutputFile(fullPath, what, temporaryPath, temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Said of the file asked for, not of the hidden temporary file beside it that failed.
            throw FileWriteException.Creating(what, path, e, e.Message.Replace(temporaryPath, fullPath, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Writes the complete content and moves it into place; true when it did. A file that holds
    /// exactly this content already is only flushed to disk, not written again: a device fetching
    /// the same page from a timer would otherwise rewrite its SD card (and wait for it) each time.
    /// </summary>
    public bool Commit(ReadOnlySpan<byte> content)
    {
        FileStream temporary = _temporary ?? throw new InvalidOperationException("the output file was already committed");
        try
        {
            if (HoldsAlready(content))
            {
                return false; // Dispose removes the temporary file
            }

            temporary.Write(content);
            temporary.Flush(flushToDisk: true);
            temporary.Dispose();
            _temporary = null;
            File.Move(_temporaryPath, _path, overwrite: true);
            _committed = true;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileWriteException($"cannot write {_what} '{_path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// The target is a regular file (not a link, which a write replaces) of exactly these bytes,
    /// now flushed to disk as a written file would be. Anything unexpected, such as a file it may
    /// not read, is answered "no", and the content is written as usual.
    /// </summary>
    private bool HoldsAlready(ReadOnlySpan<byte> content)
    {
        try
        {
            if (File.ResolveLinkTarget(_path, returnFinalTarget: false) is not null)
            {
                return false;
            }

            using SafeFileHandle target = File.OpenHandle(_path, FileMode.Open, FileAccess.Read);
            if (RandomAccess.GetLength(target) != content.Length)
            {
                return false;
            }

            Span<byte> chunk = stackalloc byte[4096];
            for (int offset = 0; offset < content.Length;)
            {
                int read = RandomAccess.Read(target, chunk, offset);
                if (read == 0 || !chunk[..read].SequenceEqual(content.Slice(offset, Math.Min(read, content.Length - offset))))
                {
                    return false;
                }

                offset += read;
            }

            RandomAccess.FlushToDisk(target);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
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
