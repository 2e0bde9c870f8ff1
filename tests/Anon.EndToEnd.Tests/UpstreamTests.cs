using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Anon.Lab;

namespace Anon.EndToEnd.Tests;

/// <summary>The gateway's download: HTTPS certificates are always validated, against a private CA if asked.</summary>
public sealed class UpstreamTests : IAsyncLifetime, IDisposable
{
    private readonly Scratch _scratch = new();
    private readonly X509Certificate2 _authority;
    private readonly X509Certificate2 _server;
    private PageServer _https = null!;

    public UpstreamTests()
    {
        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=anon test CA", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        _authority = authorityRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 issued = serverRequest.Create(_authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
        _server = issued.CopyWithPrivateKey(serverKey);
    }

    public async Task InitializeAsync()
    {
        _https = await PageServer.StartAsync(certificate: _server);
        _https.ServeDirectory(Programs.FixturesDirectory);
    }

    public async Task DisposeAsync() => await _https.DisposeAsync();

    [Fact]
    public async Task A_certificate_from_an_unknown_authority_is_refused()
    {
        ProcessResult result = await Programs.RunAsync(Programs.GatewayPath, ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", Page()], TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("the server's certificate is not trusted", result.Error, StringComparison.Ordinal);
        Expect.NoStackTrace(result);
    }

    [Fact]
    public async Task With_its_private_ca_given_the_gateway_downloads_over_https_and_serves()
    {
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new Uri(Page()), _scratch.PathOf("g.log"), "--ca-file", await CaFile());
        ProcessResult client = await Programs.RunClientAsync(Expect.ClientArguments(gateway.Port, _scratch.PathOf("c.log"), _scratch.PathOf("out.txt")));

        Assert.StartsWith("https://127.0.0.1:", _https.BaseAddress.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, client.ExitCode);
        Assert.Equal(Expect.Fixture("LIGHTON_COMMAND"), File.ReadAllBytes(_scratch.PathOf("out.txt")));
    }

    [Fact]
    public async Task A_page_over_the_size_limit_is_refused()
    {
        ProcessResult result = await Programs.RunAsync(
            Programs.GatewayPath,
            ["-p", "0", "-l", _scratch.PathOf("g.log"), "-w", Page(), "--ca-file", await CaFile(), "--max-size", "1000"],
            TimeSpan.FromSeconds(60));

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("the page is larger than the limit of 1000 bytes", result.Error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _scratch.Dispose();
        _authority.Dispose();
        _server.Dispose();
    }

    private string Page() => new Uri(_https.BaseAddress, "LIGHTON_COMMAND").ToString();

    private async Task<string> CaFile()
    {
        string path = _scratch.PathOf("ca.pem");
        await File.WriteAllTextAsync(path, _authority.ExportCertificatePem());
        return path;
    }
}
