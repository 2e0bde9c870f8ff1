using Anon.Commands;
using Anon.Io;

namespace Anon.Client.Delivery;

/// <summary>
/// What becomes of a page once fetched, for a one-shot run and a watch alike: written to the output
/// file whole (only when it differs from the one written last), its command read, and the LED
/// switched (only when it does not show that command already).
/// </summary>
internal sealed class PageDelivery : IDisposable
{
    private readonly string _outputPath;
    private readonly ILed _led;
    private readonly PacketLog _log;
    private OutputFile? _prepared;
    private byte[]? _written;
    private LightCommand? _applied;

    private PageDelivery(string outputPath, ILed led, PacketLog log, OutputFile prepared)
    {
        _outputPath = outputPath;
        _led = led;
        _log = log;
        _prepared = prepared;
    }

    /// <summary>Opens the output file now, so that an unwritable path fails before any traffic.</summary>
    /// <exception cref="FileWriteException">The output file cannot be written.</exception>
    public static PageDelivery Open(string outputPath, ILed led, PacketLog log) => new(outputPath, led, log, OutputFile.Create(outputPath));

    /// <summary>The whole step: <see cref="Write"/>, then the page's command, if it has one, to <see cref="Switch"/>.</summary>
    /// <exception cref="FileWriteException">The output file (or the LED's state file) cannot be written.</exception>
    /// <exception cref="LedFailedException">The LED cannot be switched.</exception>
    public Delivered Deliver(ReadOnlySpan<byte> content)
    {
        bool written = Write(content);
        return CommandPage.TryParse(content, out LightCommand command)
            ? new Delivered(written, command, Switch(command))
            : new Delivered(written, null, null);
    }

    /// <summary>
    /// Writes the page to the output file, whole, unless it is the page written last or the one the
    /// file holds already; true when it wrote.
    /// </summary>
    /// <exception cref="FileWriteException">The output file cannot be written.</exception>
    public bool Write(ReadOnlySpan<byte> content)
    {
        if (_written is not null && content.SequenceEqual(_written))
        {
            return false;
        }

        bool written;
        using (OutputFile output = _prepared ?? OutputFile.Create(_outputPath))
        {
            _prepared = null;
            written = output.Commit(content);
        }

        _log.Event(written ? $"wrote {content.Length} bytes to {_outputPath}" : ClientWords.AlreadyHeld(content.Length, _outputPath));
        _written = content.ToArray();
        return written;
    }

    /// <summary>Switches the LED to <paramref name="command"/> unless it shows it already; its new state, or null when it did not switch.</summary>
    /// <exception cref="FileWriteException">The LED's state file cannot be written.</exception>
    /// <exception cref="LedFailedException">The LED cannot be switched.</exception>
    public LedState? Switch(LightCommand command)
    {
        if (command == _applied)
        {
            return null;
        }

        LedState state = _led.Apply(command);
        _applied = command;
        return state;
    }

    public void Dispose() => _prepared?.Dispose();
}

/// <summary>What <see cref="PageDelivery.Deliver"/> did.</summary>
/// <param name="Written">The page was written to the output file (it differed from the last one and from the file's content).</param>
/// <param name="Command">The page's command; null when its first line is none.</param>
/// <param name="Switched">The LED's new state, when it was switched; null when it showed the command already, or there was none.</param>
internal readonly record struct Delivered(bool Written, LightCommand? Command, LedState? Switched);
