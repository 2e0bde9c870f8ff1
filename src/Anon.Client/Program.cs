using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Anon.Cli;
using Anon.Client;
using Anon.Client.Delivery;
using Anon.Client.Fetching;
using Anon.Client.Signing;
using Anon.Client.Watching;
using Anon.Commands;
using Anon.Io;
using Anon.Ladder;
using Anon.Protocol;
using Anon.Signing;

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
var timeout = new DurationOption(
    "--timeout", "Give up when nothing arrives from the gateway for this many seconds.", ClientOptions.Default.IdleTimeout, inSeconds: true);
var linger = new DurationOption(
    "--linger", "After the transfer, stay this many milliseconds to answer the gateway's FIN again if our FIN|ACK was lost.",
    ClientOptions.Default.Linger, inSeconds: false);
var initialSequence = CommandLineApp.InitialSequenceOption("a random one");
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
        string token = CommandLineApp.FirstToken(result);
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

var failOnRefusal = new Option<bool>("--fail-on-refusal")
{
    Description = "Give up at once when the gateway's host answers that nothing listens on the port, instead of retrying until --timeout (a gateway being restarted refuses for a moment).",
};

var pageKey = new Option<string?>("--page-key")
{
    Description = "Act only on a page signed with this minisign key (the base64 line of the publisher's minisign.pub, or that file): fetch its signature from --signature-port and check both, and never a page signed before the last one accepted.",
    HelpName = "key",
};
var signaturePort = new Option<int?>("--signature-port")
{
    Description = "With --page-key, the gateway's UDP port for the page's signature (its --signature-port). Default: --port + 1.",
    HelpName = "port",
    CustomParser = result => (int)CommandLineApp.ParseInteger(result, 1, ushort.MaxValue, "a port number"),
};
var stateDirectory = new Option<string?>("--state-dir")
{
    Description = "With --page-key, where to keep the signing time of the last page accepted, across restarts. Default: $STATE_DIRECTORY (set by systemd's StateDirectory=).",
    HelpName = "dir",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':')[0],
};

var retransmission = new RetransmissionOptions();

var root = new RootCommand("anonclient: fetches the command page from the gateway, writes it to a file and switches the LED.")
{
    server, port, log, file, timeout, linger, watch, initialSequence, gpioPin, gpioChip, activeLow, ledState, diagram, failOnRefusal, pageKey, signaturePort, stateDirectory,
};
foreach (Option option in retransmission.Options)
{
    root.Options.Add(option);
}

root.SetAction(parsed =>
{
    var settings = new ClientSettings
    {
        Host = parsed.GetRequiredValue(server),
        Port = parsed.GetValue(port),
        LogPath = parsed.GetRequiredValue(log),
        OutputPath = parsed.GetRequiredValue(file),
        Options = new ClientOptions
        {
            IdleTimeout = timeout.Read(parsed),
            Linger = linger.Read(parsed),
            Retransmission = retransmission.Read(parsed),
        },
        InitialSequence = parsed.GetValue(initialSequence),
        Led = ChooseLed(parsed.GetValue(gpioPin), parsed.GetValue(gpioChip), parsed.GetValue(activeLow), parsed.GetValue(ledState)),
        DiagramPath = parsed.GetValue(diagram),
        FailOnRefusal = parsed.GetValue(failOnRefusal),
        Signing = Signing(parsed.GetValue(pageKey), parsed.GetValue(signaturePort), parsed.GetValue(port), parsed.GetValue(stateDirectory)),
    };
    if (settings.Options.IdleTimeout <= TimeSpan.Zero)
    {
        throw new UsageException("--timeout must be more than 0 seconds");
    }

    if (parsed.GetValue(watch) is not { } seconds)
    {
        return RunOnce(settings);
    }

    if (settings.DiagramPath is not null)
    {
        throw new UsageException("--diagram draws one transfer; it cannot be combined with --watch");
    }


    if (settings.InitialSequence is not null)
    {
        // One ISN for every fetch would make each connection predictable and alike (the spec: "randomly chosen").
        throw new UsageException("--initial-seq numbers one transfer; it cannot be combined with --watch, whose fetches each take a random one");
    }

    return RunWatch(settings, TimeSpan.FromSeconds(seconds));
});
return CommandLineApp.Run(root, args, environmentPrefix: "ANON_CLIENT_");

// --page-key and its companions; null without a key.
static SignedFetch? Signing(string? key, int? signaturePort, int port, string? stateDirectory)
{
    if (key is null)
    {
        return signaturePort is null ? null : throw new UsageException("--signature-port is where the page's signature is: give the publisher's key with --page-key");
    }

    if (stateDirectory is not { Length: > 0 })
    {
        throw new UsageException("--page-key keeps the signing time of the last page accepted, to refuse an older one: give --state-dir (systemd's StateDirectory= sets $STATE_DIRECTORY)");
    }

    int at = signaturePort ?? (port < ushort.MaxValue ? port + 1 : throw new UsageException($"--port {port} has no next port for the signature: give --signature-port"));
    return new SignedFetch(new SignatureCheck(MinisignKey.Parse(key), stateDirectory), at);
}

// One fetch: the page written, its command executed, the LED switched; a page without a command is exit code 65.
static int RunOnce(ClientSettings settings)
{
    using var stop = new CancellationTokenSource();
    using PosixSignalRegistration onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using PosixSignalRegistration onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

    // A one-shot run flushes its log from its own writes: a flush timer would start a thread. Nor
    // does it need the thread .NET starts for asynchronous socket calls (an epoll loop): its calls
    // all block. The count is read once, when the first socket is made (docs/PERFORMANCE.md).
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "0");
    LadderRecorder? recorder = settings.DiagramPath is null ? null : new LadderRecorder(LadderSide.Client);
    try
    {
        return WithDelivery(settings, LogFlushing.OnWrite, (log, delivery, gateway) =>
        {
            var networkErrors = new NetworkErrors(settings.FailOnRefusal, Seen: error =>
            {
                if (!settings.FailOnRefusal)
                {
                    Console.Error.WriteLine(ClientWords.Retrying(gateway, error, settings.Options.IdleTimeout));
                }
            });
            PageFetch Fetch(IPEndPoint at) => PageFetch.Run(at, settings.Options, log, settings.InitialSequence, stop.Token, recorder, networkErrors);
            using PageFetch fetched = settings.Signing is { } signing ? signing.Run(gateway, Fetch, log, stop.Token) : Fetch(gateway);
            ReadOnlySpan<byte> content = fetched.Content.Span;
            try
            {
                // PageDelivery's steps one by one, not its Deliver: each is said as it is done, so
                // that a LED that fails still leaves the page said written.
                bool written = delivery.Write(content);
                settings.Status.WriteLine(written
                    ? $"anonclient: received {content.Length} bytes from {gateway}, written to {settings.OutputPath}"
                    : $"anonclient: received {content.Length} bytes from {gateway}; {ClientWords.AlreadyHeld(content.Length, settings.OutputPath)}");
                if (!CommandPage.TryParse(content, out LightCommand command))
                {
                    throw new UnknownCommandException(CommandPage.DescribeUnparsable(content));
                }

                log.Event($"command {command.ToPageText()}");
                string state = ClientWords.Led(delivery.Switch(command)!.Value); // a first switch always happens
                log.Event(state);
                settings.Status.WriteLine($"anonclient: {state}");
            }
            finally
            {
                fetched.Linger(stop.Token);
            }

            return ExitCodes.Success;
        });
    }
    finally
    {
        // Drawn whatever the outcome: a failed transfer is when the picture helps most.
        if (recorder is not null)
        {
            WriteDiagram(recorder.ToDiagram(), settings.DiagramPath!);
        }
    }

    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

// Fetch on and on, in a host that handles SIGTERM and SIGINT, until one of them; 0 then.
static int RunWatch(ClientSettings settings, TimeSpan interval) =>
    WithDelivery(settings, LogFlushing.Timer, (log, delivery, gateway) =>
    {
        WatchService.Run(Watcher.ForGateway(gateway, settings.Options, log, delivery, interval, new NetworkErrors(settings.FailOnRefusal), settings.Signing));
        return ExitCodes.Success;
    });

// What a one-shot run and a watch both do around their fetching: the log opened, the output file
// opened before any traffic (so that an unwritable path fails first), the gateway resolved and
// named in the log, and a failure logged before it reaches the exit code.
static int WithDelivery(ClientSettings settings, LogFlushing flushing, Func<PacketLog, PageDelivery, IPEndPoint, int> run)
{
    using PacketLog log = PacketLog.Open(settings.LogPath, flushing: flushing);
    try
    {
        using PageDelivery delivery = PageDelivery.Open(settings.OutputPath, settings.Led, log);
        IPEndPoint gateway = settings.Gateway();
        log.Event($"anonclient fetching from {gateway}");
        return run(log, delivery, gateway);
    }
    catch (OperationFailedException e)
    {
        log.Event($"error: {e.Message}");
        throw;
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

static ILed ChooseLed(int? gpioPin, int? gpioChip, bool activeLow, string? stateFile)
{
    ILed led = gpioPin is { } pin
        ? new GpioLed(() => GpioLed.OpenSystemController(gpioChip), pin, activeLow, gpioChip)
        : new SimulatedLed();
    return stateFile is null ? led : new LedStateFile(led, stateFile);
}
