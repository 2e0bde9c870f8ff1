using System.Device.Gpio;
using Anon.Commands;
using Anon.Io;

namespace Anon.Client.Delivery;

/// <summary>The light the device switches.</summary>
public interface ILed
{
    /// <summary>Switches the light; returns what it shows now, for the caller to report.</summary>
    /// <exception cref="LedFailedException">The light cannot be switched.</exception>
    /// <exception cref="FileWriteException">It switched, but its state file cannot be written.</exception>
    LedState Apply(LightCommand command);
}

/// <summary>What an LED shows after a switch, and which LED it is.</summary>
/// <param name="GpioPin">The GPIO pin (BCM numbering) of a real LED; null for the simulated one.</param>
/// <param name="ActiveLow">A real LED that lights when its pin is low.</param>
public readonly record struct LedState(bool IsOn, int? GpioPin = null, bool ActiveLow = false)
{
    public static LedState For(LightCommand command, int? gpioPin = null, bool activeLow = false) =>
        new(command == LightCommand.LightOn, gpioPin, activeLow);
}

/// <summary>A stand-in for the LED on a machine without one: it only reports its new state.</summary>
public sealed class SimulatedLed : ILed
{
    public LedState Apply(LightCommand command) => LedState.For(command);
}

/// <summary>
/// An LED on a GPIO pin (BCM numbering), through System.Device.Gpio. The pin is opened when the
/// command is applied, after the page has been written, so a GPIO problem never costs the file.
/// </summary>
/// <param name="chip">The chip asked for (<c>--gpio-chip</c>), or null for the board's default.</param>
/// <param name="deviceDirectory">Where the kernel's GPIO character devices are, to say what is wrong when opening fails.</param>
public sealed class GpioLed(Func<GpioController> openController, int pin, bool activeLow, int? chip = null, string deviceDirectory = "/dev") : ILed, IDisposable
{
    private GpioController? _controller;

    /// <summary>The controller for the system's GPIO: chip <paramref name="chip"/> through libgpiod, or the board's default.</summary>
    public static GpioController OpenSystemController(int? chip) => chip is { } number
        ? new GpioController(new System.Device.Gpio.Drivers.LibGpiodDriver(number))
        : new GpioController();

    public LedState Apply(LightCommand command)
    {
        LedState state = LedState.For(command, pin, activeLow);
        try
        {
            if (_controller is null)
            {
                _controller = openController();
                _controller.OpenPin(pin, PinMode.Output);
            }

            // Active-low wiring (LED between the pin and 3.3 V) lights when the pin is low.
            _controller.Write(pin, state.IsOn != activeLow ? PinValue.High : PinValue.Low);
        }
#pragma warning disable CA1031 // Drivers fail in many ways (missing library, no chip, busy pin, permissions): each is one clear message.
        catch (Exception e)
#pragma warning restore CA1031
        {
            throw new LedFailedException($"cannot drive the LED on GPIO pin {pin}: {Describe(e)}", e);
        }

        return state;
    }

    /// <summary>
    /// The reason in one line, with what to do. A missing libgpiod surfaces as a DllNotFoundException
    /// whose message lists every file name probed, over several lines: the package to install says
    /// more. The driver's own messages give an errno ("Unable to find a chip, error: 2"); the
    /// character devices themselves say which of the two usual causes it is.
    /// </summary>
    private string Describe(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is DllNotFoundException)
            {
                return "libgpiod is not installed (Debian's libgpiod2, or libgpiod3 on newer releases: sudo apt install libgpiod2)";
            }
        }

        string reason = e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
        return DeviceHint() is { } hint ? $"{reason}: {hint}" : reason;
    }

    /// <summary>What the GPIO character devices show: none at all, or one this user cannot open; null when they look fine.</summary>
    private string? DeviceHint()
    {
        string[] chips = chip is { } number
            ? [.. new[] { Path.Combine(deviceDirectory, $"gpiochip{number}") }.Where(File.Exists)]
            : Directory.Exists(deviceDirectory) ? Directory.GetFiles(deviceDirectory, "gpiochip*") : [];
        if (chips.Length == 0)
        {
            string which = chip is { } asked ? $"{Path.Combine(deviceDirectory, $"gpiochip{asked}")} does not exist" : $"there is no {Path.Combine(deviceDirectory, "gpiochip*")}";
            return $"{which}: this machine has no GPIO chip{(chip is null ? "" : " of that number")} or its driver is not loaded " +
                $"(ls {Path.Combine(deviceDirectory, "gpiochip*")}); leave --gpio-pin out to use the simulated LED";
        }

        foreach (string device in chips)
        {
            try
            {
                using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(device, FileMode.Open, FileAccess.ReadWrite);
            }
            catch (UnauthorizedAccessException)
            {
                return $"no permission to open {device}: run the client as a member of its group " +
                    "(gpio on Raspberry Pi OS, and with the anon-client package's udev rule: sudo usermod -aG gpio USER, then log in again)";
            }
            catch (IOException)
            {
                // Present but unusable for another reason: the driver's own message says more.
            }
        }

        return null;
    }

    /// <summary>
    /// Releases the pin. libgpiod does not promise that a released line keeps its value; Raspberry Pi
    /// boards do keep it (README, "The LED").
    /// </summary>
    public void Dispose() => _controller?.Dispose();
}

/// <summary>Writes the LED's state, ON or OFF, to a file other programs can watch, after another LED has switched.</summary>
public sealed class LedStateFile(ILed inner, string path) : ILed
{
    public LedState Apply(LightCommand command)
    {
        LedState state = inner.Apply(command);
        string temporary = path + ".part";
        try
        {
            File.WriteAllText(temporary, ClientWords.OnOff(state) + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileWriteException($"cannot write the LED state file '{path}': {e.Message}", e);
        }

        return state;
    }
}
