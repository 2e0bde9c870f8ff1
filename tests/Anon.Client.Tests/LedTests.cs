using System.Device.Gpio;
using Anon.Cli;
using Anon.Client.Delivery;
using Anon.Commands;
using Anon.Io;

namespace Anon.Client.Tests;

public sealed class LedTests : IDisposable
{
    private readonly string _stateFile = Path.Combine(Path.GetTempPath(), $"anon-led-{Guid.NewGuid():N}");
    private readonly string _devices = Path.Combine(Path.GetTempPath(), $"anon-dev-{Guid.NewGuid():N}");

    [Fact]
    public void Lighton_opens_the_pin_as_output_and_drives_it_high_and_lightoff_low()
    {
        var driver = new FakeGpioDriver();
        using var led = new GpioLed(() => new GpioController(driver), pin: 17, activeLow: false);

        Assert.Equal("LED is ON (GPIO pin 17)", ClientWords.Led(led.Apply(LightCommand.LightOn)));
        Assert.Equal("LED is OFF (GPIO pin 17)", ClientWords.Led(led.Apply(LightCommand.LightOff)));

        Assert.Equal(PinMode.Output, driver.Modes[17]);
        Assert.Equal([(17, PinValue.High), (17, PinValue.Low)], driver.Writes);
    }

    [Fact]
    public void Active_low_inverts_the_levels()
    {
        var driver = new FakeGpioDriver();
        using var led = new GpioLed(() => new GpioController(driver), pin: 4, activeLow: true);

        Assert.Equal("LED is ON (GPIO pin 4, active low)", ClientWords.Led(led.Apply(LightCommand.LightOn)));
        led.Apply(LightCommand.LightOff);

        Assert.Equal([(4, PinValue.Low), (4, PinValue.High)], driver.Writes);
    }

    [Theory]
    [MemberData(nameof(DriverFailures))]
    public void A_gpio_failure_is_one_clear_message_with_its_own_exit_code(Exception failure)
    {
        // A chip this test can open: the driver's own message is the whole reason.
        Directory.CreateDirectory(_devices);
        File.WriteAllText(Path.Combine(_devices, "gpiochip0"), "");
        using var led = new GpioLed(() => new GpioController(new FakeGpioDriver(failure)), pin: 17, activeLow: false, deviceDirectory: _devices);

        var error = Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOn));

        Assert.Equal(ExitCodes.GpioError, ExitCodes.For(error));
        Assert.Equal($"cannot drive the LED on GPIO pin 17: {failure.Message}", error.Message);
    }

    [Fact]
    public void A_missing_libgpiod_is_one_line_naming_the_package_not_the_file_names_probed()
    {
        // As System.Device.Gpio reports it: its own exception around the runtime's, whose message spans lines.
        var missing = new DllNotFoundException("Unable to load shared library 'libgpiod.so.3' or one of its dependencies.\n/opt/x/libgpiod.so.3: cannot open shared object file\n");
        using var led = new GpioLed(() => throw new InvalidOperationException("Exception while calling libgpiod", missing), pin: 17, activeLow: false);

        var error = Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOn));

        Assert.Equal(ExitCodes.GpioError, ExitCodes.For(error));
        Assert.Equal("cannot drive the LED on GPIO pin 17: libgpiod is not installed (Debian's libgpiod2, or libgpiod3 on newer releases: sudo apt install libgpiod2)", error.Message);
    }

    [Fact]
    public void Without_any_gpio_chip_the_message_says_where_to_look_and_how_to_do_without()
    {
        Directory.CreateDirectory(_devices);
        using var led = new GpioLed(() => throw new IOException("Unable to find a chip, error: 2 (No such file or directory)"), pin: 17, activeLow: false, deviceDirectory: _devices);

        var error = Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOn));

        Assert.Equal(
            $"cannot drive the LED on GPIO pin 17: Unable to find a chip, error: 2 (No such file or directory): there is no {_devices}/gpiochip*: " +
            $"this machine has no GPIO chip or its driver is not loaded (ls {_devices}/gpiochip*); leave --gpio-pin out to use the simulated LED",
            error.Message);
    }

    [Fact]
    public void A_chip_number_that_does_not_exist_is_named()
    {
        Directory.CreateDirectory(_devices);
        File.WriteAllText(Path.Combine(_devices, "gpiochip0"), "");
        using var led = new GpioLed(() => throw new IOException("Could not open gpio chip at path"), pin: 17, activeLow: false, chip: 4, deviceDirectory: _devices);

        var error = Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOn));

        Assert.Contains($": {_devices}/gpiochip4 does not exist: this machine has no GPIO chip of that number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_controller_that_cannot_be_made_is_a_gpio_failure_too()
    {
        using var led = new GpioLed(() => throw new PlatformNotSupportedException("no GPIO chip"), pin: 17, activeLow: false);

        Assert.Equal(ExitCodes.GpioError, ExitCodes.For(Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOff))));
    }

    [Fact]
    public void The_state_file_says_on_or_off_after_the_led_switched()
    {
        var led = new LedStateFile(new SimulatedLed(), _stateFile);

        Assert.Equal("LED is ON (simulated)", ClientWords.Led(led.Apply(LightCommand.LightOn)));
        Assert.Equal("ON\n", File.ReadAllText(_stateFile));
        led.Apply(LightCommand.LightOff);
        Assert.Equal("OFF\n", File.ReadAllText(_stateFile));
    }

    [Fact]
    public void The_state_file_is_not_written_when_the_led_failed()
    {
        var gpio = new GpioLed(() => new GpioController(new FakeGpioDriver(new UnauthorizedAccessException("permission denied"))), 17, false);
        var led = new LedStateFile(gpio, _stateFile);

        Assert.Throws<LedFailedException>(() => led.Apply(LightCommand.LightOn));
        Assert.False(File.Exists(_stateFile));
        gpio.Dispose();
    }

    public static TheoryData<Exception> DriverFailures =>
    [
        new UnauthorizedAccessException("permission denied: /dev/gpiochip0"),
        new IOException("Device or resource busy"),
        new InvalidOperationException("pin 17 is already in use"),
    ];

    public void Dispose()
    {
        File.Delete(_stateFile);
        if (Directory.Exists(_devices))
        {
            Directory.Delete(_devices, recursive: true);
        }
    }
}
