using Anon.Io;
using Anon.Protocol;

namespace Anon.Client;

/// <summary>The light the device switches.</summary>
public interface ILed
{
    void Apply(LightCommand command);
}

/// <summary>
/// A stand-in for the LED on a machine without one: it prints its new state and logs it.
/// </summary>
public sealed class SimulatedLed(TextWriter output, PacketLog log) : ILed
{
    public void Apply(LightCommand command)
    {
        string state = command == LightCommand.LightOn ? "ON" : "OFF";
        output.WriteLine($"anonclient: LED is {state} (simulated)");
        log.Event($"LED {state} (simulated)");
    }
}
