using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Anon.Client;
using Anon.Io;
using Anon.Ladder;
using Anon.Protocol;

var server = new Option<string>("--server", "-s")
{
    Description = "The gateway: an IPv4 or IPv6 address, or a host name.",
    HelpName = "host",
    Required = true,
};
var port = CommandLineApp.PortOption("The gateway's UDP port.", allowZero: false);
var log = new Option<string>("--log", "-l")
{
    Description = "Log file: one line per datagram sent or received, and the client's events. Appended to.",
    HelpName = "file",
    Required = true,
};
var file = new Option<string>("--file", "-f")
{
    Description = "Where to write the page. Written whole or not at all.",
    HelpName = "file",
    Required = true,
};
var timeout = CommandLineApp.DurationOption(
    "--timeout", "Give up when nothing arrives from the gateway for this many seconds.", ClientOptions.Default.IdleTimeout, inSeconds: true);
var linger = CommandLineApp.DurationOption(
    "--linger", "After the transfer, stay this many milliseconds to answer the gateway's FIN again if our FIN|ACK was lost.",
    ClientOptions.Default.Linger, inSeconds: false);
var initialSequence = CommandLineApp.InitialSequenceOption();
var gpioPin = new Option<int?>("--gpio-pin")
{
    Description = "Drive a real LED on this GPIO pin (BCM numbering) instead of the simulated one.",
    HelpName = "pin",
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 1023, "a GPIO pin number"),
};
var gpioChip = new Option<int?>("--gpio-chip")
{
    Description = "The GPIO chip of the pin (/dev/gpiochipN), through libgpiod; by default the board's own GPIO.",
    HelpName = "n",
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 0, 1023, "a GPIO chip number"),
};
var activeLow = new Option<bool>("--active-low")
{
    Description = "The LED lights when the pin is low (wired between the pin and 3.3 V).",
};
var watch = new Option<double?>("--watch")
{
    Description = "Run until stopped: fetch the page every this many seconds and switch the LED when the command changes.",
    HelpName = "seconds",
    CustomParser = result =>
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds)
            && seconds >= 0.01 && seconds <= 86_400)
        {
            return seconds;
        }

        result.AddError($"'{token}' is not an interval for --watch (0.01 to 86400 seconds)");
        return null;
    },
};
var ledState = new Option<string>("--led-state")
{
    Description = "Also write the LED's state, ON or OFF, to this file, for other programs to watch.",
    HelpName = "file",
};

var diagram = new Option<string>("--diagram")
{
    Description = "Also draw this transfer as a ladder diagram, one arrow per datagram with its time: SVG when the file name ends in .svg, text otherwise, '-' for standard output. Not with --watch.",
    HelpName = "file",
};

var retransmission = new RetransmissionOptions();

var root = new RootCommand("anonclient: fetches the command page from the gateway, writes it to a file and switches the LED.")
{
    server, port, log, file, timeout, linger, watch, initialSequence, gpioPin, gpioChip, activeLow, ledState, diagram,
};
foreach (Option option in retransmission.Options)
{
    root.Options.Add(option);
}

root.SetAction(parsed => Fetch(
    parsed.GetRequiredValue(server),
    parsed.GetValue(port),
    parsed.GetRequiredValue(log),
    parsed.GetRequiredValue(file),
    new ClientOptions
    {
        IdleTimeout = TimeSpan.FromSeconds(parsed.GetValue(timeout)),
        Linger = TimeSpan.FromMilliseconds(parsed.GetValue(linger)),
        Retransmission = retransmission.Read(parsed),
    },
    parsed.GetValue(initialSequence),
    ChooseLed(parsed.GetValue(gpioPin), parsed.GetValue(gpioChip), parsed.GetValue(activeLow), parsed.GetValue(ledState)),
    parsed.GetValue(watch) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
    parsed.GetValue(diagram)));
return CommandLineApp.Run(root, args, environmentPrefix: "ANON_CLIENT_");

static int Fetch(
    string host, int port, string logPath, string outputPath, ClientOptions options, uint? initialSequence, ILed led, TimeSpan? watch, string? diagramPath)
{
    if (options.IdleTimeout <= TimeSpan.Zero)
    {
        throw new CommandFailedException(ExitCodes.Usage, "--timeout must be more than 0 seconds");
    }

    if (diagramPath is not null && watch is not null)
    {
        throw new CommandFailedException(ExitCodes.Usage, "--diagram draws one transfer; it cannot be combined with --watch");
    }

    using var stop = new CancellationTokenSource();
    using PosixSignalRegistration onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using PosixSignalRegistration onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

    // A one-shot run flushes its log from its own writes: a flush timer would start a thread.
    using PacketLog packetLog = PacketLog.Open(logPath, flushing: watch is null ? LogFlushing.OnWrite : LogFlushing.Timer);
    try
    {
        OutputFile? output = OutputFile.Create(outputPath); // fails before any traffic if the path is unwritable
        try
        {
            var gateway = new IPEndPoint(Resolve(host), port);
            packetLog.Event($"anonclient fetching from {gateway}");
            if (watch is { } interval)
            {
                output.Dispose(); // the watcher writes each new version through an OutputFile of its own
                output = null;
                onTerminate.Dispose(); // the host handles SIGTERM and SIGINT from here on
                onInterrupt.Dispose();
                return WatchService.Run(Watcher.ForGateway(gateway, options, packetLog, outputPath, led, interval));
            }

            LadderRecorder? recorder = diagramPath is null ? null : new LadderRecorder(LadderSide.Client);
            try
            {
                using Transfer transfer = Transfer.Run(gateway, options, packetLog, initialSequence, stop.Token, recorder);
                ReadOnlySpan<byte> content = transfer.Content.Span;
                output.Commit(content);
                packetLog.Event($"wrote {content.Length} bytes to {outputPath}");
                Console.WriteLine($"anonclient: received {content.Length} bytes from {gateway}, written to {outputPath}");
                try
                {
                    Execute(content, led, packetLog);
                }
                finally
                {
                    transfer.Linger(stop.Token);
                }

                return ExitCodes.Success;
            }
            finally
            {
                // Drawn whatever the outcome: a failed transfer is when the picture helps most.
                if (recorder is not null)
                {
                    WriteDiagram(recorder.ToDiagram(), diagramPath!);
                }
            }
        }
        finally
        {
            output?.Dispose();
        }
    }
    catch (CommandFailedException e)
    {
        packetLog.Event($"error: {e.Message}");
        throw;
    }

    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

static void WriteDiagram(LadderDiagram diagram, string path)
{
    string drawing = diagram.RenderFor(path);
    try
    {
        if (path == "-")
        {
            Console.Out.Write(drawing);
        }
        else
        {
            File.WriteAllText(path, drawing);
        }
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"anonclient: cannot write the diagram to {path}: {e.Message}"); // the transfer's outcome stands
    }
}

static void Execute(ReadOnlySpan<byte> content, ILed led, PacketLog log)
{
    if (!CommandPage.TryParse(content, out LightCommand command))
    {
        throw new CommandFailedException(
            ExitCodes.UnknownCommand, $"cannot parse the command: the first line is \"{CommandPage.DescribeFirstLine(content)}\"");
    }

    log.Event($"command {command.ToPageText()}");
    string state = led.Apply(command);
    log.Event(state);
    Console.WriteLine($"anonclient: {state}");
}

static ILed ChooseLed(int? gpioPin, int? gpioChip, bool activeLow, string? stateFile)
{
    ILed led = gpioPin is { } pin
        ? new GpioLed(() => GpioLed.OpenSystemController(gpioChip), pin, activeLow)
        : new SimulatedLed();
    return stateFile is null ? led : new LedStateFile(led, stateFile);
}

static IPAddress Resolve(string host)
{
    if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? address))
    {
        return address;
    }

    try
    {
        IPAddress[] addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new CommandFailedException(ExitCodes.UnknownHost, $"the gateway's name '{host}' has no address");
    }
    catch (SocketException e)
    {
        throw new CommandFailedException(ExitCodes.UnknownHost, $"cannot resolve the gateway's name '{host}': {e.Message}", e);
    }
}
