using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Sharing;

/// <summary>Password-protected shares: the form, the cookie bound to the password, the per-address throttle, and the password kept nowhere.</summary>
public sealed class SharePasswordTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Password = "Tangerine-Falcon-42";

    private static HttpClient Visitor(TestApp app, string address, CookieContainer cookies)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    private static async Task<HttpResponseMessage> PostPasswordAsync(HttpClient visitor, string path, string password)
    {
        var form = BrowserSession.HiddenFields(await visitor.GetStringAsync(path, Ct));
        form["password"] = password;
        return await visitor.PostAsync(path, new FormUrlEncodedContent(form), Ct);
    }

    [Fact]
    public async Task PasswordShare_FormThenCookieScopedToTheShare_WrongThrottledPerAddress_ChangeEndsOldCookies_PasswordInNoRowOrLog()
    {
        var capture = new LogCapture();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Processing:Workers"] = "0",
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Trace",
        }, s => s.AddSingleton<ILoggerProvider>(capture));
        var (owner, vehicle, listed, _) = await ShareLinkTests.VehicleWithPhotosAsync(app);
        var (shareId, _, path) = await ShareLinkTests.ShareAsync(owner, vehicle, new { set = "listing", password = Password });

        // The form: no photo, no image URL, a generic title in the preview tags.
        var recipientCookies = new CookieContainer();
        using var recipient = Visitor(app, "203.0.113.20", recipientCookies);
        var page = await recipient.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("id=\"share-password\"", html);
        Assert.Empty(ShareLinkTests.ImageUrls(html));
        Assert.DoesNotContain("og:image", html);
        Assert.DoesNotContain("Porsche", html);
        Assert.Equal("Shared photos · VehicleImages", ShareLinkTests.Meta(html, "og:title"));
        Assert.Equal(HttpStatusCode.NotFound, (await recipient.GetAsync($"{path}/i/{listed[0]}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await recipient.GetAsync($"{path}/download", Ct)).StatusCode);

        // A post without the form's antiforgery field (from another site's page) is refused, not tried.
        using (var forged = Visitor(app, "203.0.113.99", new CookieContainer()))
        {
            var refused = await forged.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string> { ["password"] = Password }), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("The form was out of date", await refused.Content.ReadAsStringAsync(Ct));
            Assert.False(refused.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("share_access=", StringComparison.Ordinal)));
        }

        // A stranger guessing from another address is stopped after a few tries (429, Retry-After)...
        using var stranger = Visitor(app, "203.0.113.66", new CookieContainer());
        for (var i = 0; i < 5; i++)
        {
            var wrong = await PostPasswordAsync(stranger, path, $"guess-{i}");
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
            Assert.Contains("That password is not right.", await wrong.Content.ReadAsStringAsync(Ct));
            Assert.False(wrong.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("share_access=", StringComparison.Ordinal)));
        }
        var throttled = await PostPasswordAsync(stranger, path, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.True(int.Parse(throttled.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);

        // ...while the recipient, from their own address, gets in with the right one: an HttpOnly cookie for this share's path only.
        var wrongOnce = await PostPasswordAsync(recipient, path, "not-it");
        Assert.Contains("That password is not right.", await wrongOnce.Content.ReadAsStringAsync(Ct));
        var right = await PostPasswordAsync(recipient, path, Password);
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        var cookie = right.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("share_access=", StringComparison.Ordinal));
        Assert.Contains($"path={path}", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        var unlocked = await recipient.GetStringAsync(path, Ct);
        Assert.Equal(3, ShareLinkTests.ImageUrls(unlocked).Count);
        Assert.Equal("Shared photos · VehicleImages", ShareLinkTests.Meta(unlocked, "og:title")); // a password share never previews its photos
        Assert.DoesNotContain("og:image", unlocked);
        Assert.Equal(HttpStatusCode.OK, (await recipient.GetAsync($"{path}/i/{listed[0]}/thumb", Ct)).StatusCode);

        // The cookie is bound to the password: a change sends the recipient back to the form, and images stop.
        var changed = await owner.PatchAsJsonAsync($"api/shares/{shareId}", new { password = "Another-Secret-77" }, Ct);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.True((await changed.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hasPassword").GetBoolean());
        Assert.Contains("id=\"share-password\"", await recipient.GetStringAsync(path, Ct));
        Assert.Equal(HttpStatusCode.NotFound, (await recipient.GetAsync($"{path}/i/{listed[0]}/thumb", Ct)).StatusCode);
        // Removing it opens the share to anyone with the link.
        await owner.PatchAsJsonAsync($"api/shares/{shareId}", new { password = "" }, Ct);
        using var anyone = Visitor(app, "203.0.113.21", new CookieContainer());
        Assert.Equal(3, ShareLinkTests.ImageUrls(await anyone.GetStringAsync(path, Ct)).Count);

        // Nowhere kept: not in any column of any table, not in any log line (at Trace).
        var dump = await DumpAsync(cs);
        Assert.DoesNotContain(Password, dump);
        Assert.DoesNotContain("Another-Secret-77", dump);
        Assert.Contains("share_links", dump); // the dump did read the shares
        var logs = string.Join("\n", capture.Entries.Select(e => e + " " + e.Exception));
        Assert.NotEmpty(capture.Entries);
        Assert.DoesNotContain(Password, logs);
        Assert.DoesNotContain("Another-Secret-77", logs);
    }

    [Fact]
    public async Task SharePerMinute_LimitsEachAddressOnItsOwn_429WithRetryAfter()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Processing:Workers"] = "0", ["RateLimits:SharePerMinute"] = "4",
        });
        var (owner, vehicle, listed, _) = await ShareLinkTests.VehicleWithPhotosAsync(app);
        var (_, _, path) = await ShareLinkTests.ShareAsync(owner, vehicle, new { });
        using var busy = Visitor(app, "192.0.2.1", new CookieContainer());
        Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync(path, Ct)).StatusCode);
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync($"{path}/i/{listed[i]}/thumb", Ct)).StatusCode);
        var refused = await busy.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("shared photos", await refused.Content.ReadAsStringAsync(Ct));
        using var other = Visitor(app, "192.0.2.2", new CookieContainer());
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(path, Ct)).StatusCode);
    }

    /// <summary>Every row of every table in the app's schema, as text.</summary>
    private static async Task<string> DumpAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(Ct);
        var tables = new List<string>();
        await using (var cmd = new NpgsqlCommand("SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(Ct))
            while (await reader.ReadAsync(Ct))
                tables.Add(reader.GetString(0));
        var dump = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            dump.Append("== ").AppendLine(table);
            await using var cmd = new NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
            await using var reader = await cmd.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
                dump.AppendLine(reader.GetString(0));
        }
        return dump.ToString();
    }
}
