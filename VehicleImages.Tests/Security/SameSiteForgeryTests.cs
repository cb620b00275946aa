using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Security;

namespace VehicleImages.Tests.Security;

/// <summary>
/// A page on a sibling port or subdomain is "same site": the browser sends the login cookie with its
/// requests. Changes signed in by that cookie need the antiforgery token; live connections from
/// another origin are refused.
/// </summary>
public sealed class SameSiteForgeryTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private const string Elsewhere = "http://localhost:3000";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Email(string who) => $"{who}-{Guid.NewGuid():N}@example.test";

    private static async Task<List<VehicleListItem>> VehiclesAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<List<VehicleListItem>>("api/vehicles", Ct))!;

    private static async Task AssertRefusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(ApiAntiforgery.HeaderName, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task CookieChange_WithoutToken_Is400AndChangesNothing()
    {
        using var browser = await BrowserSession.SignInAsync(fixture.App, Email("forged"));

        await AssertRefusedAsync(await browser.PostAsJsonAsync("api/vehicles", new { name = "Forged" }, Ct));
        Assert.Empty(await VehiclesAsync(browser));

        // The multipart upload is refused before a byte of it is stored.
        var vehicle = await UploadTests.CreateVehicleAsync(await browser.WithAntiforgeryTokenAsync());
        browser.DefaultRequestHeaders.Remove(ApiAntiforgery.HeaderName);
        var jpeg = File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"));
        await AssertRefusedAsync(await browser.PostAsync($"api/vehicles/{vehicle}/images", UploadTests.Files(("car.jpg", jpeg)), Ct));
        Assert.Equal(0L, await ImageRows.CountAsync(fixture.App.ConnectionString, "vehicle_id = @v", ("v", vehicle)));

        // A token that is not a token, or nothing but the header name, is no better.
        browser.DefaultRequestHeaders.Add(ApiAntiforgery.HeaderName, "not-a-token");
        await AssertRefusedAsync(await browser.PostAsJsonAsync("api/vehicles", new { name = "Forged" }, Ct));
        Assert.Single(await VehiclesAsync(browser));
    }

    [Fact]
    public async Task CookieChange_WithToken_Succeeds()
    {
        using var browser = await (await BrowserSession.SignInAsync(fixture.App, Email("owner"))).WithAntiforgeryTokenAsync();

        var vehicle = await UploadTests.CreateVehicleAsync(browser, "Cookie car");
        var image = (await UploadTests.UploadAsync(browser, vehicle, ("car.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")))))
            .Single();
        Assert.Equal(IngestOutcome.Created, image.Outcome);
        var id = image.ImageId!.Value;
        Assert.Equal(HttpStatusCode.OK,
            (await browser.PutAsJsonAsync($"api/images/{id}/categorization", new { category = "interior", angle = "dashboard" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.DeleteAsync($"api/images/{id}", Ct)).StatusCode);
        Assert.Equal(0L, await ImageRows.CountAsync(fixture.App.ConnectionString, "id = @id", ("id", id)));
    }

    [Fact]
    public async Task CookieChange_WithAnotherSessionsToken_Is400()
    {
        using var thief = await (await BrowserSession.SignInAsync(fixture.App, Email("thief"))).WithAntiforgeryTokenAsync();
        using var victim = await BrowserSession.SignInAsync(fixture.App, Email("victim"));
        victim.DefaultRequestHeaders.Add(ApiAntiforgery.HeaderName, thief.DefaultRequestHeaders.GetValues(ApiAntiforgery.HeaderName).Single());

        await AssertRefusedAsync(await victim.PostAsJsonAsync("api/vehicles", new { name = "Forged" }, Ct));
        Assert.Empty(await VehiclesAsync(victim));
    }

    [Fact]
    public async Task BearerChange_WithoutToken_Succeeds()
    {
        using var script = await fixture.App.CreateUserClientAsync();

        var response = await script.PostAsJsonAsync("api/vehicles", new { name = "Scripted" }, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(await VehiclesAsync(script));
    }

    [Fact]
    public async Task AntiforgeryToken_Anonymous_Is401()
    {
        using var anonymous = fixture.App.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/antiforgery/token", Ct)).StatusCode);
    }

    [Theory]
    [InlineData("hubs/processing/negotiate?negotiateVersion=1")]
    [InlineData("_blazor/negotiate?negotiateVersion=1")]
    public async Task Negotiate_FromAnotherOrigin_Is403_FromOurOwnIsNot(string path)
    {
        using var browser = await BrowserSession.SignInAsync(fixture.App, Email("live"));

        using var foreign = new HttpRequestMessage(HttpMethod.Post, path);
        foreign.Headers.Add("Origin", Elsewhere);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(foreign, Ct)).StatusCode);

        using var nullOrigin = new HttpRequestMessage(HttpMethod.Post, path);
        nullOrigin.Headers.Add("Origin", "null");
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(nullOrigin, Ct)).StatusCode);

        using var own = new HttpRequestMessage(HttpMethod.Post, path);
        own.Headers.Add("Origin", fixture.App.BaseAddress.GetLeftPart(UriPartial.Authority));
        var response = await browser.SendAsync(own, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var negotiated = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(negotiated.RootElement.TryGetProperty("connectionToken", out _));
    }

    [Fact]
    public async Task HubWebSocket_FromAnotherOrigin_IsRefused()
    {
        var cookie = new CookieContainer();
        using var browser = await BrowserSession.SignInAsync(fixture.App, Email("socket"), cookie);
        var ws = new UriBuilder(fixture.App.BaseAddress) { Scheme = "ws", Path = "hubs/processing" }.Uri;

        using var foreign = new ClientWebSocket();
        foreign.Options.Cookies = cookie;
        foreign.Options.SetRequestHeader("Origin", Elsewhere);
        foreign.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(ws, Ct));
        Assert.Equal(HttpStatusCode.Forbidden, foreign.HttpStatusCode);

        using var own = new ClientWebSocket();
        own.Options.Cookies = cookie;
        own.Options.SetRequestHeader("Origin", fixture.App.BaseAddress.GetLeftPart(UriPartial.Authority));
        await own.ConnectAsync(ws, Ct);
        Assert.Equal(WebSocketState.Open, own.State);
    }

    [Fact]
    public async Task AdminCookieChange_WithoutToken_Is400AndTheQueueStaysRunning()
    {
        // A database of its own, so that this account is the first one: the Admin.
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var admin = await BrowserSession.SignInAsync(app, "first-admin@example.test");

        await AssertRefusedAsync(await admin.PostAsync("api/admin/processing/pause", null, Ct));
        Assert.False(await PausedAsync(admin));

        await admin.WithAntiforgeryTokenAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("api/admin/processing/pause", null, Ct)).StatusCode);
        Assert.True(await PausedAsync(admin));

        static async Task<bool> PausedAsync(HttpClient admin) =>
            (await admin.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("paused").GetBoolean();
    }
}
