using System.Device.Gpio;

namespace Anon.Client.Tests;

/// <summary>A GpioDriver that records what is done to its pins, or fails the way a real one can.</summary>
internal sealed class FakeGpioDriver(Exception? failOnOpen = null) : GpioDriver
{
    public Dictionary<int, PinMode> Modes { get; } = [];

    public List<(int Pin, PinValue Value)> Writes { get; } = [];

    protected override int PinCount => 28;

    protected override void OpenPin(int pinNumber)
    {
        if (failOnOpen is not null)
        {
            throw failOnOpen;
        }
    }

    protected override void ClosePin(int pinNumber) => Modes.Remove(pinNumber);

    protected override void SetPinMode(int pinNumber, PinMode mode) => Modes[pinNumber] = mode;

    protected override PinMode GetPinMode(int pinNumber) => Modes[pinNumber];

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => Writes.LastOrDefault(w => w.Pin == pinNumber).Value;

    protected override void Write(int pinNumber, PinValue value) => Writes.Add((pinNumber, value));

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException();

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException();
}
