using System.Globalization;
using Anon.Lab;
using Xunit.Abstractions;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// --page-key: the gateway serves a page only with a valid minisign signature (made here with
/// Debian's minisign) by that key, never one older than the page it accepted before; at start a
/// refusal is one line and exit code 76, on a refresh the last good copy stays served.
/// </summary>
public sealed class SignatureTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string PageName = "LIGHTON_COMMAND";
    private readonly Scratch _scratch = new();
    private readonly byte[] _page = Expect.Fixture(PageName);
    private readonly byte[] _otherPage = Expect.Fixture("LIGHTOFF_COMMAND");
    private PageServer _server = null!;
    private string _minisign = null!;

    private Uri PageUrl => new(_server.BaseAddress, PageName);

    public async Task InitializeAsync()
    {
        _minisign = Repository.Tool("minisign", "minisign");
        _server = await PageServer.StartAsync();
        await RunMinisignAsync("-G", "-W", "-p", _scratch.PathOf("key.pub"), "-s", _scratch.PathOf("key.sec"));
        await RunMinisignAsync("-G", "-W", "-p", _scratch.PathOf("other.pub"), "-s", _scratch.PathOf("other.sec"));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_page_signed_by_the_key_is_served(bool legacyMode)
    {
        await PublishAsync(_page, "key", legacy: legacyMode);

        GatewayProcess gateway = await GatewayProcess.StartAsync(PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"));
        await using (gateway)
        {
            await AssertServesAsync(gateway, _page);
            Assert.Equal(0, (await gateway.StopAsync()).ExitCode); // its log is then whole: a kill loses what is not yet written out
        }

        Assert.Contains(", signed at ", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_may_be_given_as_its_base64_line()
    {
        await PublishAsync(_page, "key");
        string line = File.ReadAllLines(_scratch.PathOf("key.pub"))[1];

        await using GatewayProcess gateway = await GatewayProcess.StartAsync(PageUrl, _scratch.PathOf("g.log"), "--page-key", line);
        await AssertServesAsync(gateway, _page);
    }

    public static TheoryData<string, string> RefusalsAtStart => new()
    {
        { "tampered", "the signature does not match the page" },
        { "wrong key", "the signature is by another key" },
        { "missing", "no signature for " },
    };

    [Theory]
    [MemberData(nameof(RefusalsAtStart))]
    public async Task At_start_a_bad_page_is_refused_with_one_line_and_exit_code_76(string fault, string expected)
    {
        await PublishAsync(_page, fault == "wrong key" ? "other" : "key");
        if (fault == "tampered")
        {
            _server.Serve(PageName, [.. _page[..^1], (byte)(_page[^1] ^ 1)]);
        }
        else if (fault == "missing")
        {
            _server.Remove(PageName + ".minisig");
        }

        ProcessResult result = await RunGatewayAsync("--page-key", _scratch.PathOf("key.pub"));

        output.WriteLine(result.Error);
        Assert.Equal(76, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
        Expect.NoStackTrace(result);
    }

    /// <summary>
    /// libsodium, which NSec loads at the first key, missing from beside the program (a build copied
    /// without it): one line naming it and exit code 69, not an internal error.
    /// </summary>
    [SkippableTheory]
    [InlineData("anonGateway")]
    [InlineData("anonclient")]
    public async Task Without_libsodium_a_page_key_is_one_line_naming_it_and_exit_code_69(string program)
    {
        ProcessResult loader = await Programs.RunAsync("/sbin/ldconfig", ["-p"], TimeSpan.FromSeconds(30));
        Skip.If(loader.Output.Contains("libsodium.so (", StringComparison.Ordinal), "this machine has libsodium.so on the loader's path (libsodium-dev), which a copy of the program without its own finds");
        string built = program == "anonGateway" ? Programs.GatewayPath : Programs.ClientPath;
        string copy = _scratch.PathOf("without-libsodium");
        CopyWithoutLibsodium(Path.GetDirectoryName(built)!, copy);
        string[] arguments = program == "anonGateway"
            ? ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", PageUrl.ToString(), "--page-key", _scratch.PathOf("key.pub")]
            : ["-s", "127.0.0.1", "-p", "9", "-l", _scratch.PathOf("c.log"), "-f", _scratch.PathOf("out"), "--page-key", _scratch.PathOf("key.pub"), "--state-dir", _scratch.PathOf("state")];

        ProcessResult result = await Programs.RunAsync(Path.Combine(copy, Path.GetFileName(built)), arguments, TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("cannot load libsodium, which checks signatures under --page-key", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.PathOf("out")));
    }

    private static void CopyWithoutLibsodium(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (!Path.GetFileName(file).StartsWith("libsodium", StringComparison.Ordinal))
            {
                string target = Path.Combine(to, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
    }

    [Fact]
    public async Task At_start_a_page_older_than_the_one_accepted_before_is_refused_as_a_rollback()
    {
        // The newer page accepted and kept in the cache; then upstream offers an older signed one.
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        await using (GatewayProcess first = await GatewayProcess.StartAsync(PageUrl, _scratch.PathOf("g1.log"), "--page-key", _scratch.PathOf("key.pub"), "--cache-dir", _scratch.PathOf("cache")))
        {
            Assert.Equal(0, (await first.StopAsync()).ExitCode);
        }

        await PublishAsync(_otherPage, "key", timestamp: 1_900_000_000);
        ProcessResult result = await RunGatewayAsync("--page-key", _scratch.PathOf("key.pub"), "--cache-dir", _scratch.PathOf("cache"));

        Assert.Equal(76, result.ExitCode);
        Assert.Contains("before the page accepted last", result.Error, StringComparison.Ordinal);
        Assert.Contains("a rollback or a replay", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_older_than_max_page_age_is_refused()
    {
        await PublishAsync(_page, "key", timestamp: 1_000_000_000);

        ProcessResult result = await RunGatewayAsync("--page-key", _scratch.PathOf("key.pub"), "--max-page-age", "86400");

        Assert.Equal(76, result.ExitCode);
        Assert.Contains("longer ago than --max-page-age 86400 s allows", result.Error, StringComparison.Ordinal);
    }

    /// <summary>Each fault, and the reason the gateway's log must give for refusing it.</summary>
    public static TheoryData<string, string> RefusalsOnRefresh => new()
    {
        { "tampered", "the signature does not match the page (altered, or signed by someone else)" },
        { "wrong key", "the signature is by another key (key id " },
        { "missing", "no signature for " },
        { "rollback", "before the page accepted last (signed at 2033-05-18 03:33:20 UTC): a rollback or a replay" },
    };

    [Theory]
    [MemberData(nameof(RefusalsOnRefresh))]
    public async Task On_a_refresh_a_bad_page_is_refused_for_its_reason_and_the_last_good_copy_stays_served(string fault, string reason)
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        GatewayProcess gateway = await GatewayProcess.StartAsync(PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"), "--refresh", "1");
        await using (gateway)
        {
            await PublishAsync(_otherPage, fault == "wrong key" ? "other" : "key", timestamp: fault == "rollback" ? 1_900_000_000 : 2_000_000_100);
            if (fault == "tampered")
            {
                _server.Serve(PageName, [.. _otherPage[..^1], (byte)(_otherPage[^1] ^ 1)]);
            }
            else if (fault == "missing")
            {
                _server.Remove(PageName + ".minisig");
            }

            // A refresh that fell between two of the changes above may be refused for another
            // reason; the fault, once in place, is refused for its own at the next try.
            await WaitForLogAsync(line => line.Contains("refresh refused", StringComparison.Ordinal) && line.Contains(reason, StringComparison.Ordinal));
            await AssertServesAsync(gateway, _page);
            Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        }

        string refused = File.ReadAllLines(_scratch.PathOf("g.log")).Last(line => line.Contains("refresh refused", StringComparison.Ordinal));
        output.WriteLine(refused);
        Assert.Contains(reason, refused, StringComparison.Ordinal);
        Assert.Matches(@"; still serving the last good copy; next try in \d+\.\d s$", refused);
        Assert.DoesNotContain("page changed", File.ReadAllText(_scratch.PathOf("g.log")), StringComparison.Ordinal);
    }

    /// <summary>A newer page signed by the key replaces the one served at the next refresh: not every signed refresh is refused.</summary>
    [Fact]
    public async Task On_a_refresh_a_newer_page_signed_by_the_key_is_served()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        GatewayProcess gateway = await GatewayProcess.StartAsync(PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"), "--refresh", "1");
        await using (gateway)
        {
            await PublishAsync(_otherPage, "key", timestamp: 2_000_000_100);

            await WaitForLogAsync(line => line.Contains("page changed", StringComparison.Ordinal));
            await AssertServesAsync(gateway, _otherPage);
            Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        }
    }

    /// <summary>
    /// --signature-port: the signature, byte for byte as published, over the same protocol on a port
    /// of its own, while the page's port serves the page unchanged; after a refresh, both the new ones.
    /// </summary>
    [Fact]
    public async Task The_signature_port_serves_the_signature_as_published_and_switches_with_the_page()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        byte[] signature = await File.ReadAllBytesAsync(_scratch.PathOf(PageName + ".minisig"));
        int signaturePort = Expect.FreeUdpPort();
        GatewayProcess gateway = await GatewayProcess.StartAsync(
            PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture), "--refresh", "1");
        await using (gateway)
        {
            await AssertServesAsync(gateway, _page);
            Assert.Equal(signature, FetchFrom(signaturePort));

            await PublishAsync(_otherPage, "key", timestamp: 2_000_000_100);
            byte[] newSignature = await File.ReadAllBytesAsync(_scratch.PathOf(PageName + ".minisig"));
            await WaitForLogAsync(line => line.Contains("page changed", StringComparison.Ordinal));
            await Task.Delay(500); // each loop takes a posted page within 200 ms

            await AssertServesAsync(gateway, _otherPage);
            Assert.Equal(newSignature, FetchFrom(signaturePort));
            Assert.Equal(0, (await gateway.StopAsync()).ExitCode);
        }

        string log = File.ReadAllText(_scratch.PathOf("g.log"));
        Assert.Contains($"serving the page's signature ({signature.Length} bytes, signed at ", log, StringComparison.Ordinal);
        Assert.Contains("signature port: connection from 127.0.0.1:", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--signature-port 40001", "--signature-port serves the page's signature: give the publisher's key with --page-key")]
    [InlineData("--signature-port 40002 --page-key KEY -p 40002", "--signature-port 40002 is the page's own port (--port): give another")]
    public async Task A_signature_port_without_a_key_or_on_the_page_port_is_a_usage_error(string arguments, string said)
    {
        string[] more = arguments.Replace("KEY", _scratch.PathOf("key.pub"), StringComparison.Ordinal).Split(' ');

        ProcessResult result = more.Contains("-p")
            ? await Programs.RunAsync(Programs.GatewayPath, ["-l", _scratch.PathOf("g.log"), "-w", PageUrl.ToString(), .. more], TimeSpan.FromSeconds(60))
            : await RunGatewayAsync(more);

        Assert.Equal(64, result.ExitCode);
        Assert.Contains(said, result.Error, StringComparison.Ordinal);
    }

    /// <summary>The device checks the page itself: signed by the key, it is written and acted on, and its signing time kept.</summary>
    [Fact]
    public async Task A_device_with_the_key_acts_on_a_signed_page_and_keeps_its_signing_time()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        int signaturePort = Expect.FreeUdpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture));

        ProcessResult client = await RunDeviceAsync(gateway.Port, signaturePort);

        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(_page, File.ReadAllBytes(_scratch.PathOf("device.out")));
        Assert.Equal("ON", File.ReadAllText(_scratch.PathOf("device.led")).Trim());
        Assert.Equal("timestamp:2000000000\n", File.ReadAllText(_scratch.PathOf("state/last-accepted-signature")));
        Assert.Contains("signature checked: the page was signed at 2033-05-18 03:33:20 UTC", File.ReadAllText(_scratch.PathOf("device.log")), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> RogueGateways => new()
    {
        { "tampered page, genuine signature", "the signature does not match the page" },
        { "page signed by another key", "the signature is by another key" },
        { "no signature", "no signature for the page from 127.0.0.1:" },
    };

    /// <summary>A gateway (or anyone answering as it) that serves what the publisher did not sign cannot switch the LED.</summary>
    [Theory]
    [MemberData(nameof(RogueGateways))]
    public async Task A_device_with_the_key_refuses_what_a_rogue_gateway_serves(string rogue, string said)
    {
        await PublishAsync(_page, rogue == "page signed by another key" ? "other" : "key", timestamp: 2_000_000_000);
        byte[] page = (byte[])_page.Clone();
        if (rogue.StartsWith("tampered", StringComparison.Ordinal))
        {
            page[^2] ^= 0x01;
        }

        using var pageGateway = new Anon.Lab.Conformance.SuiteGateway(page, new Anon.Lab.Conformance.GatewayScript());
        using var signatureGateway = rogue == "no signature" ? null : new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript());

        ProcessResult client = await RunDeviceAsync(pageGateway.Port, signatureGateway?.Port ?? Expect.FreeUdpPort(), "--timeout", "1");

        Assert.Equal(76, client.ExitCode);
        string[] lines = client.Error.Trim().Split('\n'); // before it, when nothing listens on a port: the notices of retries
        Assert.All(lines, line => Assert.StartsWith("anonclient: ", line, StringComparison.Ordinal));
        Assert.Contains(said, lines[^1], StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.PathOf("device.out")), "the page was written");
        Assert.False(File.Exists(_scratch.PathOf("device.led")), "the LED was switched");
    }

    /// <summary>An older signed page, replayed after a newer one was accepted, is refused, across a restart of the client.</summary>
    [Fact]
    public async Task A_device_refuses_an_older_signed_page_after_a_newer_one_across_restarts()
    {
        await PublishAsync(_otherPage, "key", timestamp: 2_000_000_100);
        using (var newer = new Anon.Lab.Conformance.SuiteGateway(_otherPage, new Anon.Lab.Conformance.GatewayScript()))
        using (var newerSignature = new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript()))
        {
            ProcessResult accepted = await RunDeviceAsync(newer.Port, newerSignature.Port);
            Assert.True(accepted.ExitCode == 0, accepted.Error);
        }

        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        using var replay = new Anon.Lab.Conformance.SuiteGateway(_page, new Anon.Lab.Conformance.GatewayScript());
        using var replaySignature = new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript());

        ProcessResult refused = await RunDeviceAsync(replay.Port, replaySignature.Port);

        Assert.Equal(76, refused.ExitCode);
        Assert.Contains("before the page this device accepted last (signed at 2033-05-18 03:35:00 UTC): a rollback or a replay", refused.Error, StringComparison.Ordinal);
        Assert.Equal(_otherPage, File.ReadAllBytes(_scratch.PathOf("device.out")));
        Assert.Equal("OFF", File.ReadAllText(_scratch.PathOf("device.led")).Trim());
    }

    /// <summary>A damaged state file is named, and refuses every page until it is removed (README "Signed pages").</summary>
    [Fact]
    public async Task A_damaged_state_file_is_named_and_refuses_until_removed()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        using var gateway = new Anon.Lab.Conformance.SuiteGateway(_page, new Anon.Lab.Conformance.GatewayScript());
        using var signature = new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript());
        Directory.CreateDirectory(_scratch.PathOf("state"));
        await File.WriteAllTextAsync(_scratch.PathOf("state/last-accepted-signature"), "timestamp:20000\u0000\u0000");

        ProcessResult refused = await RunDeviceAsync(gateway.Port, signature.Port);
        File.Delete(_scratch.PathOf("state/last-accepted-signature"));
        ProcessResult accepted = await RunDeviceAsync(gateway.Port, signature.Port);

        Assert.Equal(76, refused.ExitCode);
        Assert.Contains($"the state file {_scratch.PathOf("state/last-accepted-signature")} is damaged", refused.Error, StringComparison.Ordinal);
        Assert.True(accepted.ExitCode == 0, accepted.Error);
    }

    /// <summary>A watching device keeps the last page it accepted while a rogue answers in the gateway's place, and tries again at each interval.</summary>
    [Fact]
    public async Task A_watching_device_keeps_its_last_good_page_while_a_rogue_answers_and_tries_again()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        byte[] tampered = (byte[])_otherPage.Clone();
        int port = Expect.FreeUdpPort(), signaturePort = Expect.FreeUdpPort();
        var genuine = new Anon.Lab.Conformance.SuiteGateway(_page, new Anon.Lab.Conformance.GatewayScript(), port);
        var genuineSignature = new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript(), signaturePort);
        using System.Diagnostics.Process device = Programs.StartClient(Expect.ClientArguments(
            port, _scratch.PathOf("device.log"), _scratch.PathOf("device.out"),
            "--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture),
            "--state-dir", _scratch.PathOf("state"), "--led-state", _scratch.PathOf("device.led"), "--watch", "0.2"));
        try
        {
            await Expect.EventuallyAsync(() => File.Exists(_scratch.PathOf("device.led")), TimeSpan.FromSeconds(30), "the device switching its LED on the genuine page");
            genuine.Dispose();
            using var rogue = new Anon.Lab.Conformance.SuiteGateway(tampered, new Anon.Lab.Conformance.GatewayScript(), port);
            await Expect.EventuallyAsync(() => Refusals() >= 2, TimeSpan.FromSeconds(30), "two refusals of the rogue's page, an interval apart");
        }
        finally
        {
            Programs.Terminate(device);
            await device.WaitForExitAsync();
            genuineSignature.Dispose();
        }

        Assert.Equal(0, device.ExitCode);
        Assert.Equal(_page, File.ReadAllBytes(_scratch.PathOf("device.out")));
        Assert.Equal("ON", File.ReadAllText(_scratch.PathOf("device.led")).Trim());

        int Refusals() => File.ReadAllLines(_scratch.PathOf("device.log")).Count(line =>
            line.Contains("error: refused the page from 127.0.0.1:", StringComparison.Ordinal) && line.Contains("the file and the LED stay as they are; trying again in", StringComparison.Ordinal));
    }

    /// <summary>A page fetched before a refresh and its signature after it: the device fetches the pair again, and the next pair verifies.</summary>
    [Fact]
    public async Task A_device_whose_page_and_signature_straddle_a_refresh_fetches_them_again()
    {
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        byte[] oldSignature = Signature();
        await PublishAsync(_otherPage, "key", timestamp: 2_000_000_100);
        using var gateway = new Anon.Lab.Conformance.SuiteGateway(_otherPage, new Anon.Lab.Conformance.GatewayScript());
        using var signature = new Anon.Lab.Conformance.SuiteGateway(Signature(), new Anon.Lab.Conformance.GatewayScript { FirstContents = [oldSignature] });

        ProcessResult client = await RunDeviceAsync(gateway.Port, signature.Port);

        Assert.True(client.ExitCode == 0, client.Error);
        Assert.Equal(_otherPage, File.ReadAllBytes(_scratch.PathOf("device.out")));
        Assert.Contains("the signature does not match the page (altered, or signed by someone else); fetching the page and its signature again (1 of 3 tries)",
            File.ReadAllText(_scratch.PathOf("device.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// 20 devices watching while the page changes again and again: a device whose page and signature
    /// straddle a refresh fetches the pair again, and none ends a fetch refused.
    /// </summary>
    [Fact]
    public async Task Devices_fetching_around_refreshes_each_end_with_a_pair_that_verifies()
    {
        const int Devices = 20;
        const int Changes = 10;
        await PublishAsync(_page, "key", timestamp: 2_000_000_000);
        int signaturePort = Expect.FreeUdpPort();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            PageUrl, _scratch.PathOf("g.log"), "--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture),
            "--refresh", "0.5", "--max-connection-rate", "0");
        var devices = Enumerable.Range(0, Devices).Select(i => Programs.StartClient(Expect.ClientArguments(
            gateway.Port, _scratch.PathOf($"d{i}.log"), _scratch.PathOf($"d{i}.out"),
            "--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture),
            "--state-dir", _scratch.PathOf($"state{i}"), "--watch", "0.2"))).ToList();
        byte[] last = _page;
        try
        {
            for (int change = 1; change <= Changes; change++)
            {
                await Task.Delay(700);
                last = change % 2 == 1 ? _otherPage : _page;
                await PublishAsync(last, "key", timestamp: 2_000_000_000 + change);
            }

            await Expect.EventuallyAsync(() => Enumerable.Range(0, Devices).All(i => Holds(i, last)), TimeSpan.FromSeconds(30), "every device holding the last page");
            await Task.Delay(1000); // a few more fetches of the last page
        }
        finally
        {
            foreach (System.Diagnostics.Process device in devices)
            {
                Programs.Terminate(device);
            }

            foreach (System.Diagnostics.Process device in devices)
            {
                await device.WaitForExitAsync();
                device.Dispose();
            }
        }

        int refetched = 0, checkedPairs = 0;
        for (int i = 0; i < Devices; i++)
        {
            string log = File.ReadAllText(_scratch.PathOf($"d{i}.log"));
            checkedPairs += log.Split('\n').Count(line => line.Contains("signature checked", StringComparison.Ordinal));
            Assert.DoesNotContain("error: refused", log, StringComparison.Ordinal);
            Assert.Equal(last, File.ReadAllBytes(_scratch.PathOf($"d{i}.out")));
            refetched += log.Split('\n').Count(line => line.Contains("fetching the page and its signature again", StringComparison.Ordinal));
        }

        int changes = File.ReadAllLines(_scratch.PathOf("g.log")).Count(line => line.Contains("page changed", StringComparison.Ordinal));
        output.WriteLine($"{checkedPairs} pairs checked by {Devices} devices over {changes} changes of the page; {refetched} straddled a refresh and were fetched again");

        bool Holds(int device, byte[] page) =>
            File.Exists(_scratch.PathOf($"d{device}.out")) && File.ReadAllBytes(_scratch.PathOf($"d{device}.out")).AsSpan().SequenceEqual(page);
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>The signature file PublishAsync made last.</summary>
    private byte[] Signature() => File.ReadAllBytes(_scratch.PathOf(PageName + ".minisig"));

    /// <summary>anonclient as a device with the key: its file, simulated LED's state file and state directory in the scratch folder.</summary>
    private Task<ProcessResult> RunDeviceAsync(int port, int signaturePort, params string[] more) =>
        Programs.RunClientAsync(Expect.ClientArguments(
            port, _scratch.PathOf("device.log"), _scratch.PathOf("device.out"),
            ["--page-key", _scratch.PathOf("key.pub"), "--signature-port", signaturePort.ToString(CultureInfo.InvariantCulture),
             "--state-dir", _scratch.PathOf("state"), "--led-state", _scratch.PathOf("device.led"), .. more]));

    /// <summary>The content served on <paramref name="port"/>, fetched by the conformance suite's plain client.</summary>
    private static byte[] FetchFrom(int port)
    {
        using var probe = new Anon.Lab.Conformance.Probe(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
        Anon.Lab.Conformance.FetchResult fetched = Anon.Lab.Conformance.SuiteClient.Fetch(probe, new Anon.Lab.Conformance.ClientScript());
        Assert.True(fetched.Completed, fetched.Stalled);
        return [.. fetched.Content];
    }

    /// <summary>Puts the page and its signature (by the named key) on the server; with a timestamp of our choosing when given.</summary>
    private async Task PublishAsync(byte[] page, string key, bool legacy = false, long? timestamp = null)
    {
        string file = _scratch.PathOf(PageName);
        await File.WriteAllBytesAsync(file, page);
        List<string> arguments = ["-S", "-s", _scratch.PathOf($"{key}.sec"), "-m", file];
        if (legacy)
        {
            arguments.Add("-l");
        }

        if (timestamp is { } seconds)
        {
            arguments.AddRange(["-t", string.Create(CultureInfo.InvariantCulture, $"timestamp:{seconds}\tfile:{PageName}")]);
        }

        await RunMinisignAsync([.. arguments]);
        _server.Serve(PageName, page);
        _server.Serve(PageName + ".minisig", await File.ReadAllBytesAsync(file + ".minisig"));
    }

    private async Task RunMinisignAsync(params string[] arguments)
    {
        ProcessResult result = await Programs.RunAsync(_minisign, arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"minisign {string.Join(' ', arguments)}: {result.Error}");
    }

    private Task<ProcessResult> RunGatewayAsync(params string[] more) =>
        Programs.RunAsync(Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", PageUrl.ToString(), .. more], TimeSpan.FromSeconds(60));

    /// <summary>Waits, at most 15 s (a few refreshes and their backoff), for a line of the gateway's log that <paramref name="wanted"/> accepts.</summary>
    private async Task WaitForLogAsync(Func<string, bool> wanted)
    {
        for (int attempt = 0; attempt < 150; attempt++)
        {
            if (File.ReadAllLines(_scratch.PathOf("g.log")).Any(wanted))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"no such line in the gateway's log after 15 s:\n{File.ReadAllText(_scratch.PathOf("g.log"))}");
    }

    private async Task AssertServesAsync(GatewayProcess gateway, byte[] expected)
    {
        string file = _scratch.PathOf($"out-{Guid.NewGuid():N}");
        ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), file));
        Assert.Equal(0, client.ExitCode);
        Assert.Equal(expected, File.ReadAllBytes(file));
    }
}
