using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Npgsql;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Security;

/// <summary>
/// The Data Protection keys that sign login cookies live in the database; with
/// DataProtection:CertificatePath they are stored encrypted, so reading the table is not enough to
/// forge a session, while every instance holding the certificate keeps accepting the cookies.
/// </summary>
public sealed class KeyEncryptionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Keys_WithACertificate_AreEncryptedInTheTable_AndAnotherInstanceWithItAcceptsTheCookie()
    {
        var certificate = TestCertificate.Write();
        var settings = new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = certificate, ["Processing:Workers"] = "0" };
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var cookies = new CookieContainer();
        try
        {
            await using (var first = await TestApp.StartAsync(cs, settings))
            {
                using var client = await BrowserSession.SignInAsync(first, "keys@example.test", cookies);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/auth/me", Ct)).StatusCode);
            }

            var keys = await KeyXmlAsync(cs);
            Assert.NotEmpty(keys);
            Assert.All(keys, xml =>
            {
                Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
                Assert.DoesNotContain("<value>", xml, StringComparison.Ordinal);
            });

            // Another instance (or the same after a restart) with the certificate reads the cookie.
            await using (var second = await TestApp.StartAsync(cs, settings))
            {
                using var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = second.BaseAddress };
                var me = await client.GetFromJsonAsync<JsonElement>("api/auth/me", Ct);
                Assert.Equal("keys@example.test", me.GetProperty("email").GetString());
            }

            // Without that certificate (here: another one) the table's keys are useless: the cookie is not accepted.
            await using (var stranger = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" }))
            {
                using var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = stranger.BaseAddress };
                Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/auth/me", Ct)).StatusCode);
            }
        }
        finally
        {
            File.Delete(certificate);
        }
    }

    [Fact]
    public async Task Certificate_MissingFile_StopsStartUpNamingTheKey()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestApp.StartAsync(cs,
            new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = "/nonexistent/dp.pem" }));
        Assert.Contains("DataProtection__CertificatePath", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_OutsideDevelopmentWithoutACertificate_RefusesNamingTheKey()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

        // The test host runs the app as shipped (Production) and gives it a certificate, as run.sh does; here, none.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(cs,
            new Dictionary<string, string?> { [TestCertificate.Key] = "", ["Processing:Workers"] = "0" }));

        Assert.Contains("DataProtection__CertificatePath", error.Message, StringComparison.Ordinal);
        Assert.Contains("run.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_WithoutACertificate_ExitsNamingTheKey_ButMigratesAndServesInDevelopment()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Default"] = cs, ["ASPNETCORE_URLS"] = "http://127.0.0.1:0", ["Processing__Workers"] = "0",
            ["DataProtection__CertificatePath"] = "", ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };

        var (exit, output) = await RunAsync(environment);
        Assert.Equal(1, exit);
        Assert.Contains("cannot start: DataProtection__CertificatePath is not set", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);

        // Applying migrations signs nobody in: no certificate needed for that.
        var (migrated, migrateOutput) = await RunAsync(environment, "--migrate-only");
        Assert.True(migrated == 0, migrateOutput);

        // In Development the app serves without one (keys unencrypted, as the framework warns).
        var app = VehicleImages.Web.VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development"], b =>
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Default"] = cs, ["Processing:Workers"] = "0", ["Storage:Root"] = Path.GetTempPath(),
            }));
        await using (app)
        {
            await VehicleImages.Web.VehicleImagesApp.StartAsync(app, Ct);
            Assert.True(app.Environment.IsDevelopment());
            await app.StopAsync(Ct);
        }
    }

    private static Task<(int ExitCode, string Output)> RunAsync(IDictionary<string, string> environment, params string[] args) =>
        AppProcess.RunToExitAsync(environment, args);

    private static async Task<List<string>> KeyXmlAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(Ct);
        await using var cmd = new NpgsqlCommand("SELECT xml FROM data_protection_keys", connection);
        await using var reader = await cmd.ExecuteReaderAsync(Ct);
        var keys = new List<string>();
        while (await reader.ReadAsync(Ct))
            keys.Add(reader.GetString(0));
        return keys;
    }
}
