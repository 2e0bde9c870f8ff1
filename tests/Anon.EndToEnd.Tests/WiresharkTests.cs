using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>
/// tools/wireshark/anon.lua decodes a real transfer captured on loopback: tshark's reading of every
/// packet must be the line the client logged for it.
/// </summary>
public sealed partial class WiresharkTests(WebFixture web) : IClassFixture<WebFixture>, IDisposable
{
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task The_dissector_decodes_every_packet_of_a_captured_transfer_as_the_client_logged_it()
    {
        string dumpcap = Repository.Tool("dumpcap", "tshark");
        string tshark = Repository.Tool("tshark", "tshark");
        string capture = _scratch.PathOf("transfer.pcapng");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(web.LightOn, _scratch.PathOf("gateway.log"));
        string port = gateway.Port.ToString(CultureInfo.InvariantCulture);

        using (Capture capturing = await StartCaptureAsync(dumpcap, port, capture))
        {
            ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("client.log"), _scratch.PathOf("out.txt")));
            Assert.Equal(0, client.ExitCode);
            SendHostileDatagrams(gateway.Port);
            int expected = Expect.PacketLines(_scratch.PathOf("client.log")).Length + 2;
            Assert.True(await capturing.WaitForPacketsAsync(expected, TimeSpan.FromSeconds(30)), $"dumpcap counted {capturing.Packets} packets of {expected}");
            Programs.Terminate(capturing.Process);
            await capturing.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        ProcessResult decoded = await Programs.RunAsync(
            tshark,
            ["-r", capture, "-X", "lua_script:" + Repository.PathOf("tools", "wireshark", "anon.lua"), "-o", "anon.port:" + port,
             "-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
             "-e", "udp.srcport", "-e", "anon.seq", "-e", "anon.ack", "-e", "anon.flags.ack", "-e", "anon.flags.syn", "-e", "anon.flags.fin",
             "-e", "anon.flags.reserved", "-e", "anon.len", "-e", "anon.first_line", "-e", "_ws.expert.message"],
            TimeSpan.FromSeconds(60));
        Assert.True(decoded.ExitCode == 0, decoded.Error);
        string[][] packets = decoded.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|')).ToArray();

        // The transfer: each packet, read by the dissector and written as the client's log line for
        // it (RECV when the gateway sent it), is the client's log. Compared one direction at a time:
        // loopback keeps each direction's order, but a retransmission may cross an answer.
        string[][] transfer = packets[..^2];
        string[] asLogged = transfer.Select(fields => LogLine(fields, port)).ToArray();
        string[] logged = Expect.PacketLines(_scratch.PathOf("client.log"));
        foreach (string direction in new[] { "SEND", "RECV" })
        {
            Assert.Equal(logged.Where(line => line.StartsWith(direction, StringComparison.Ordinal)), asLogged.Where(line => line.StartsWith(direction, StringComparison.Ordinal)));
        }

        Assert.Equal(logged.Length, asLogged.Length);
        Assert.All(transfer, fields => Assert.Equal("0x00000000", fields[6]));
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND").Length, transfer.Where(fields => fields[0] == port).Sum(fields => int.Parse(fields[7], CultureInfo.InvariantCulture)));
        Assert.Equal(["COMMAND=LIGHTON"], transfer.Select(fields => fields[8]).Where(line => line.Length > 0));

        // The hostile datagrams: reserved bits are shown and flagged; a runt is called one.
        Assert.Equal("0x80000000", packets[^2][6]);
        Assert.Contains("Reserved flag bits set", packets[^2][9], StringComparison.Ordinal);
        Assert.Contains("Shorter than the 12-byte header", packets[^1][9], StringComparison.Ordinal);
    }

    public void Dispose() => _scratch.Dispose();

    private static string LogLine(string[] fields, string gatewayPort)
    {
        string direction = fields[0] == gatewayPort ? "RECV" : "SEND";
        string flags = (fields[3] == "1" ? " ACK" : "") + (fields[4] == "1" ? " SYN" : "") + (fields[5] == "1" ? " FIN" : "");
        return $"{direction} {fields[1]} {fields[2]}{flags}";
    }

    /// <summary>Starts dumpcap on loopback and waits until it captures; it stops by itself after a minute.</summary>
    private static async Task<Capture> StartCaptureAsync(string dumpcap, string port, string file)
    {
        Process process = Programs.StartWithEnvironment(
            dumpcap, ["-i", "lo", "-f", "udp port " + port, "-w", file, "-a", "duration:60"], new Dictionary<string, string>());
        _ = process.StandardOutput.ReadToEndAsync();
        using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardError.ReadLineAsync(timer.Token) is string line)
        {
            if (line.StartsWith("Capturing on", StringComparison.Ordinal))
            {
                return new Capture(process);
            }
        }

        throw new InvalidOperationException($"dumpcap did not start capturing (exit code {(process.HasExited ? process.ExitCode : -1)})");
    }

    /// <summary>A running dumpcap and its packet count, read from the "\rPackets: N " it writes to stderr as it captures.</summary>
    private sealed partial class Capture : IDisposable
    {
        private int _packets;

        public Capture(Process process)
        {
            Process = process;
            _ = Task.Run(ReadCountsAsync);
        }

        public Process Process { get; }

        public int Packets => Volatile.Read(ref _packets);

        /// <summary>True once dumpcap has captured at least <paramref name="count"/> packets within <paramref name="timeout"/>.</summary>
        public async Task<bool> WaitForPacketsAsync(int count, TimeSpan timeout)
        {
            var waited = Stopwatch.StartNew();
            while (Packets < count && waited.Elapsed < timeout && !Process.HasExited)
            {
                await Task.Delay(20);
            }

            return Packets >= count;
        }

        public void Dispose() => Process.Dispose();

        private async Task ReadCountsAsync()
        {
            char[] buffer = new char[256];
            string pending = "";
            int read;
            while ((read = await Process.StandardError.ReadAsync(buffer)) > 0)
            {
                pending += new string(buffer, 0, read);
                MatchCollection counts = Count().Matches(pending);
                if (counts.Count > 0)
                {
                    Volatile.Write(ref _packets, int.Parse(counts[^1].Groups[1].Value, CultureInfo.InvariantCulture));
                    pending = pending[(counts[^1].Index + counts[^1].Length)..];
                }
            }
        }

        [GeneratedRegex(@"Packets: (\d+) ")]
        private static partial Regex Count();
    }

    /// <summary>A header with a reserved bit set (0x80000000 beside ACK), then a 3-byte runt.</summary>
    private static void SendHostileDatagrams(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var gateway = new IPEndPoint(IPAddress.Loopback, port);
        byte[] header = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(header, 1);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), 0x8000_0004);
        socket.SendTo(header, gateway);
        socket.SendTo("abc"u8, gateway);
    }
}
