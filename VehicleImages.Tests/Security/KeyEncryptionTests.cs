using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
