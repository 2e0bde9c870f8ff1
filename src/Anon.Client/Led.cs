using System.Device.Gpio;
using Anon.Io;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>The light the device switches.</summary>
public interface ILed
{
    /// <summary>Switches the light; returns its new state in words, for the user.</summary>
    /// <exception cref="CommandFailedException">The light cannot be switched.</exception>
    string Apply(LightCommand command);
}

/// <summary>A stand-in for the LED on a machine without one: it only reports its new state.</summary>
public sealed class SimulatedLed : ILed
{
    public string Apply(LightCommand command) => $"LED is {StateOf(command)} (simulated)";

    internal static string StateOf(LightCommand command) => command == LightCommand.LightOn ? "ON" : "OFF";
}

/// <summary>
/// An LED on a GPIO pin (BCM numbering), through System.Device.Gpio. The pin is opened when the
/// command is applied, after the page has been written, so a GPIO problem never costs the file.
/// </summary>
public sealed class GpioLed(Func<GpioController> openController, int pin, bool activeLow) : ILed, IDisposable
{
    private GpioController? _controller;

    /// <summary>The controller for the system's GPIO: chip <paramref name="chip"/> through libgpiod, or the board's default.</summary>
    public static GpioController OpenSystemController(int? chip) => chip is { } number
        ? new GpioController(new System.Device.Gpio.Drivers.LibGpiodDriver(number))
        : new GpioController();

    public string Apply(LightCommand command)
    {
        bool on = command == LightCommand.LightOn;
        try
        {
            if (_controller is null)
            {
                _controller = openController();
                _controller.OpenPin(pin, PinMode.Output);
            }

            // Active-low wiring (LED between the pin and 3.3 V) lights when the pin is low.
            _controller.Write(pin, on != activeLow ? PinValue.High : PinValue.Low);
        }
#pragma warning disable CA1031 // Drivers fail in many ways (missing library, no chip, busy pin, permissions): each is one clear message.
        catch (Exception e) when (e is not CommandFailedException)
#pragma warning restore CA1031
        {
            string detail = e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
            throw new CommandFailedException(ExitCodes.GpioError, $"cannot drive the LED on GPIO pin {pin}: {detail}", e);
        }

        return $"LED is {SimulatedLed.StateOf(command)} (GPIO pin {pin}{(activeLow ? ", active low" : "")})";
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
    public string Apply(LightCommand command)
    {
        string description = inner.Apply(command);
        string temporary = path + ".part";
        try
        {
            File.WriteAllText(temporary, SimulatedLed.StateOf(command) + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException(ExitCodes.CannotCreate, $"cannot write the LED state file '{path}': {e.Message}", e);
        }

        return description;
    }
}
