using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Accounts;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;

namespace VehicleImages.Tests.Security;

/// <summary>
/// Behind a TLS proxy on the same machine every request comes from 127.0.0.1. The app believes that
/// proxy's X-Forwarded-For by default, so the sign-in limit and the lockout see each real client; a
/// stranger's failures lock out only the stranger; and /metrics is never "for any loopback caller".
/// The test client plays the proxy: it connects from 127.0.0.1 and says whom it forwards.
/// </summary>
public sealed class ProxyTrustTests
{
    private const string Password = "Passw0rd!";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(params (string Key, string? Value)[] settings) =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Key, s.Value))) { ["Processing:Workers"] = "0" });

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/login") { Content = JsonContent.Create(new { email, password }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.Add("X-Forwarded-Proto", "https");
        return await client.SendAsync(request, Ct);
    }

    private static async Task RegisterAsync(HttpClient client, string email) =>
        (await client.PostAsJsonAsync("api/auth/register", new { email, password = Password }, Ct)).EnsureSuccessStatusCode();

    [Fact]
    public async Task SignIn_21BadFromOneForwardedAddress_NeitherStopsAnotherAddressNorTheOwnerFromAnother()
    {
        // The contract's default: 20 sign-in calls per client address per minute.
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "20"));
        using var client = app.CreateClient();
        await RegisterAsync(client, "owner@example.test");
        await RegisterAsync(client, "neighbour@example.test");

        // The attacker guesses until its own address runs out of permits: 21 calls at the least (the bucket holds 20 and
        // refills one every 3 s, so on a slow machine a few more get through first).
        var attempts = new List<HttpStatusCode>();
        while (attempts.Count < 200 && attempts.LastOrDefault() != HttpStatusCode.TooManyRequests)
            attempts.Add((await LoginAsync(client, "owner@example.test", $"guess-{attempts.Count}", "203.0.113.66")).StatusCode);

        Assert.Equal(HttpStatusCode.TooManyRequests, attempts[^1]);
        Assert.True(attempts.Count >= 21, $"refused after {attempts.Count} calls");
        Assert.All(attempts.SkipLast(1), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        // ...while someone else behind the same proxy signs in, and so does the owner from their own address.
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, "neighbour@example.test", Password, "198.51.100.7")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, "owner@example.test", Password, "198.51.100.8")).StatusCode);
        // Identity's per-account counter was never touched.
        await using var scope = app.Services.CreateAsyncScope();
        var owner = await scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>().FindByEmailAsync("owner@example.test");
        Assert.Null(owner!.LockoutEnd);
    }

    [Fact]
    public async Task SignIn_TenFailuresFromOneAddress_LockThatAddressOnly_TheOwnerElsewhereSignsIn()
    {
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "0"));
        using var client = app.CreateClient();
        await RegisterAsync(client, "owner@example.test");

        for (var i = 0; i < SignInLockout.MaxFailures; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "owner@example.test", $"guess-{i}", "203.0.113.66")).StatusCode);

        // From the guessing address even the right password is refused now, with the reason.
        var locked = await LoginAsync(client, "owner@example.test", Password, "203.0.113.66");
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode);
        Assert.Equal(SignInLockout.LockedMessage, (await locked.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        // The sign-in page refuses that address too, with the reason.
        using (var page = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress })
        {
            page.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.66");
            var form = await page.GetStringAsync("account/login", Ct);
            var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            var refused = await page.PostAsync("account/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "login", ["__RequestVerificationToken"] = token, ["Input.Email"] = "owner@example.test", ["Input.Password"] = Password,
            }), Ct);
            Assert.Equal(HttpStatusCode.OK, refused.StatusCode); // the form again, not the redirect of a signed-in user
            Assert.Contains("Too many failed attempts", await refused.Content.ReadAsStringAsync(Ct));
        }

        // The owner, elsewhere, is not locked out: through the API and through the sign-in page.
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, "owner@example.test", Password, "198.51.100.8")).StatusCode);
        using var cookie = await app.CreateCookieClientAsync("owner@example.test");
    }

    [Fact]
    public async Task Metrics_OnTheAppsPort_NotForLoopbackCallersOrUsers_OnlyForAdminsTheDatabaseConfirms()
    {
        await using var app = await StartAsync();
        using var admin = await app.CreateUserClientAsync("first-admin@example.test");
        using var user = await app.CreateUserClientAsync("user@example.test");
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress };

        // Loopback, as every client behind a same-host proxy is: no metrics without signing in as an admin.
        var stranger = await anonymous.GetAsync("metrics", Ct);
        Assert.NotEqual(HttpStatusCode.OK, stranger.StatusCode);
        Assert.DoesNotContain("vehicleimages_", await stranger.Content.ReadAsStringAsync(Ct));
        await AssertRefusedAsync(user);
        var allowed = await admin.GetAsync("metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.StartsWith("text/plain", allowed.Content.Headers.ContentType?.MediaType);

        // Demoted in the database: the token still says Admin, the database does not.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            Assert.True((await users.RemoveFromRoleAsync((await users.FindByEmailAsync("first-admin@example.test"))!, Roles.Admin)).Succeeded);
        }

        await AssertRefusedAsync(admin);
    }

    /// <summary>A page path: a refusal shows the not-found page (the status-code pages), never the metrics.</summary>
    private static async Task AssertRefusedAsync(HttpClient client)
    {
        var answer = await client.GetAsync("metrics", Ct);
        Assert.NotEqual(HttpStatusCode.OK, answer.StatusCode);
        Assert.DoesNotContain("# TYPE", await answer.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Metrics_OnTheMetricsPort_WithoutSignIn_OnLoopback_AndNothingElseThere()
    {
        var port = TestApp.FreePort();
        await using var app = await StartAsync(("Metrics:Port", $"{port}"));
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        var metrics = await scraper.GetAsync("metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE", await metrics.Content.ReadAsStringAsync(Ct));
        // The listener is for the scraper only: no pages, no API, no sign-in there.
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("health", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("account/login", Ct)).StatusCode);
        // Bound to loopback (Metrics:Host unset); the app's own port still wants an admin.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Contains($"http://127.0.0.1:{port}", addresses);
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress };
        Assert.NotEqual(HttpStatusCode.OK, (await anonymous.GetAsync("metrics", Ct)).StatusCode);
    }

    [Fact]
    public async Task ForwardedProto_FromASenderThatIsNotATrustedProxy_WarnsOnceNamingTheSetting()
    {
        var capture = new LogCapture();
        // The proxy is named and is elsewhere: the test client on loopback is not it.
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0", ["ForwardedHeaders:KnownProxies"] = "10.0.0.2" },
            s => s.AddSingleton<ILoggerProvider>(capture));
        using var client = app.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "health");
            request.Headers.Add("X-Forwarded-Proto", "https");
            (await client.SendAsync(request, Ct)).EnsureSuccessStatusCode();
        }

        var warnings = capture.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("X-Forwarded-Proto", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("ForwardedHeaders__KnownProxies", warning.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedProto_FromTheLoopbackProxyByDefault_IsBelievedWithoutAWarning()
    {
        var capture = new LogCapture();
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" }, s => s.AddSingleton<ILoggerProvider>(capture));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "account/login");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");

        var page = await client.SendAsync(request, Ct);

        // Believed: the answer is one for HTTPS, whose cookies are Secure.
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains(page.Headers.GetValues("Set-Cookie"), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(capture.Entries, e => e.Message.Contains("X-Forwarded-Proto", StringComparison.Ordinal));
    }
}
