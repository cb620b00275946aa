using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Limits;

/// <summary>
/// The rate limits on the real app. Every test client comes from 127.0.0.1, so each test starts an
/// app of its own: one test's spent permits must not be another's.
/// </summary>
public sealed class RateLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(params (string Key, string Value)[] settings) =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            settings.ToDictionary(s => s.Key, s => (string?)s.Value));

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient client, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/login")
        {
            Content = JsonContent.Create(new { email = "nobody@example.test", password = "wrong-password" }),
        };
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task Auth_OverTheLimit_Answers429WithRetryAfterAndReason()
    {
        // Two permits, refilled one every 30 s: the test's three calls take far less.
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "2"));
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client)).StatusCode);
        var refused = await LoginAsync(client);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 30);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains("Too many sign-in", problem.GetProperty("detail").GetString());
        Assert.Contains($"try again in {(int)retryAfter.Value.TotalSeconds} s", problem.GetProperty("detail").GetString());

        // Register and refresh draw on the same permits.
        var register = await client.PostAsJsonAsync("api/auth/register", new { email = "late@example.test", password = "Passw0rd!" }, Ct);
        var refresh = await client.PostAsJsonAsync("api/auth/refresh", new { refreshToken = "nonsense" }, Ct);
        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests), (register.StatusCode, refresh.StatusCode));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM asp_net_users"));
    }

    [Fact]
    public async Task Auth_ForgedForwardedForWithoutAKnownProxy_DoesNotResetTheLimit()
    {
        // The proxy is elsewhere, so the test client (127.0.0.1) is not one: a proxy on loopback is trusted only by default.
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "2"), ("ForwardedHeaders:KnownProxies", "10.0.0.2"));
        using var client = app.CreateClient();
        await LoginAsync(client);
        await LoginAsync(client);

        // A client that claims to be someone else is still itself.
        var forged = await LoginAsync(client, forwardedFor: "203.0.113.7");
        var forgedChain = await LoginAsync(client, forwardedFor: "198.51.100.1, 203.0.113.8");

        Assert.Equal(HttpStatusCode.TooManyRequests, forged.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, forgedChain.StatusCode);
    }

    [Fact]
    public async Task Auth_BehindAKnownProxy_LimitsEachForwardedClientSeparately()
    {
        // The test client's address plays the proxy.
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "2"), ("ForwardedHeaders:KnownProxies", "127.0.0.1"));
        using var client = app.CreateClient();

        await LoginAsync(client, forwardedFor: "203.0.113.7");
        await LoginAsync(client, forwardedFor: "203.0.113.7");
        var sameClient = await LoginAsync(client, forwardedFor: "203.0.113.7");
        var otherClient = await LoginAsync(client, forwardedFor: "203.0.113.8");

        Assert.Equal(HttpStatusCode.TooManyRequests, sameClient.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, otherClient.StatusCode);
    }

    [Fact]
    public async Task Auth_BehindAKnownNetwork_TrustsOnlyProxiesInsideIt()
    {
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "1"), ("ForwardedHeaders:KnownNetworks", "127.0.0.0/8"));
        using var client = app.CreateClient();

        // The client prepends a forged hop; the proxy (127.0.0.1) appends the address it saw, 203.0.113.7.
        // Only the proxy's entry is believed, so the forged one cannot buy a fresh limit.
        await LoginAsync(client, forwardedFor: "198.51.100.1, 203.0.113.7");
        var forgedHop = await LoginAsync(client, forwardedFor: "198.51.100.2, 203.0.113.7");

        Assert.Equal(HttpStatusCode.TooManyRequests, forgedHop.StatusCode);
    }

    [Fact]
    public async Task Auth_SignInPagePosts_AreLimitedAndShowingThePageIsNot()
    {
        await using var app = await StartAsync(("RateLimits:AuthPerMinute", "1"));
        using var client = app.CreateClient();
        var form = () => new FormUrlEncodedContent(new Dictionary<string, string> { ["Input.Email"] = "a@example.test", ["Input.Password"] = "x" });

        await client.PostAsync("account/login", form(), Ct);
        var refused = await client.PostAsync("account/login", form(), Ct);
        var page = await client.GetAsync("account/login", Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("Too many sign-in", await refused.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Upload_OverTheLimit_Answers429ForThatUserOnly()
    {
        await using var app = await StartAsync(("RateLimits:UploadsPerMinute", "2"), ("Processing:Workers", "0"));
        using var first = await app.CreateUserClientAsync();
        using var second = await app.CreateUserClientAsync();
        var firstVehicle = await UploadTests.CreateVehicleAsync(first);
        var secondVehicle = await UploadTests.CreateVehicleAsync(second);
        var photo = ("a.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")));

        await UploadTests.UploadAsync(first, firstVehicle, photo);
        await UploadTests.UploadAsync(first, firstVehicle, photo);
        var refused = await first.PostAsync($"api/vehicles/{firstVehicle}/images", UploadTests.Files(photo), Ct);
        var neighbour = await UploadTests.UploadAsync(second, secondVehicle, photo);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Contains("Too many uploads", (await refused.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        Assert.Equal("created", neighbour[0].Outcome);
    }

    [Fact]
    public async Task Reanalyze_OverTheHourlyLimit_Answers429ForThatUserOnly_WithTheReason()
    {
        await using var app = await StartAsync(("RateLimits:ReanalyzePerHour", "2"), ("Processing:Workers", "0"));
        using var first = await app.CreateUserClientAsync();
        using var second = await app.CreateUserClientAsync();
        var firstVehicle = await UploadTests.CreateVehicleAsync(first);
        var secondVehicle = await UploadTests.CreateVehicleAsync(second);

        Assert.Equal(HttpStatusCode.OK, (await first.PostAsync($"api/vehicles/{firstVehicle}/reanalyze", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.PostAsync($"api/vehicles/{firstVehicle}/reanalyze", null, Ct)).StatusCode);
        var refused = await first.PostAsync($"api/vehicles/{firstVehicle}/reanalyze", null, Ct);
        var neighbour = await second.PostAsync($"api/vehicles/{secondVehicle}/reanalyze", null, Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        // One permit back every half hour: the wait is minutes, not the minute of the other limits.
        Assert.InRange(refused.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 60, 1800);
        Assert.Contains("re-analysis", (await refused.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, neighbour.StatusCode);
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void ClientKey_IPv6CountsPerSlash64_MappedIPv4AsIPv4(string address, string key) =>
        Assert.Equal(key, VehicleImages.Web.Limits.RateLimiting.ClientKey(IPAddress.Parse(address)));
}
