using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;

namespace VehicleImages.Tests.Integration;

public sealed class AccountTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Login_ReturnsBearerTokens_AndRefreshIssuesNewOnes()
    {
        using var anonymous = fixture.App.CreateClient();
        var register = await anonymous.PostAsJsonAsync("api/auth/register", new { email = "tokens@example.test", password = "Passw0rd!" }, Ct);
        Assert.Equal(HttpStatusCode.OK, register.StatusCode);

        var tokens = await TestApp.LoginAsync(anonymous, "tokens@example.test", "Passw0rd!");
        Assert.Equal("Bearer", tokens.TokenType);
        Assert.True(tokens.ExpiresIn > 0);

        var refreshed = await anonymous.PostAsJsonAsync("api/auth/refresh", new { refreshToken = tokens.RefreshToken }, Ct);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var renewed = await refreshed.Content.ReadFromJsonAsync<TokenResponse>(Ct);
        Assert.False(string.IsNullOrEmpty(renewed!.AccessToken));

        var bogus = await anonymous.PostAsJsonAsync("api/auth/refresh", new { refreshToken = "not-a-token" }, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, bogus.StatusCode);
    }

    [Fact]
    public async Task Login_WrongPassword_Is401ProblemDetails()
    {
        using var anonymous = fixture.App.CreateClient();
        await anonymous.PostAsJsonAsync("api/auth/register", new { email = "wrong@example.test", password = "Passw0rd!" }, Ct);

        var response = await anonymous.PostAsJsonAsync("api/auth/login", new { email = "wrong@example.test", password = "nope-nope1" }, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Register_WeakPassword_Is400WithReasons_AndATakenAddressAnswersExactlyAsAFreeOne()
    {
        using var anonymous = fixture.App.CreateClient();
        var weak = await anonymous.PostAsJsonAsync("api/auth/register", new { email = "weak@example.test", password = "short" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.Contains("at least 8", await weak.Content.ReadAsStringAsync(Ct));

        var free = await anonymous.PostAsJsonAsync("api/auth/register", new { email = "twice@example.test", password = "Passw0rd!" }, Ct);
        var taken = await anonymous.PostAsJsonAsync("api/auth/register", new { email = "twice@example.test", password = "Other-Passw0rd!" }, Ct);

        // Nothing tells the two apart: status, content type, body.
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (free.StatusCode, taken.StatusCode));
        Assert.Equal(free.Content.Headers.ContentType?.ToString(), taken.Content.Headers.ContentType?.ToString());
        Assert.Equal(await free.Content.ReadAsStringAsync(Ct), await taken.Content.ReadAsStringAsync(Ct));
        // A weak password on a taken address gets the free address's answer too.
        var weakTaken = await anonymous.PostAsJsonAsync("api/auth/register", new { email = "twice@example.test", password = "short" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, weakTaken.StatusCode);
        Assert.Equal((await weak.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").ToString(),
            (await weakTaken.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").ToString()); // all but the trace id
        // The account is unchanged: its own password still signs in, the second one does not.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("api/auth/login", new { email = "twice@example.test", password = "Passw0rd!" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("api/auth/login", new { email = "twice@example.test", password = "Other-Passw0rd!" }, Ct)).StatusCode);
    }

    [Theory]
    [InlineData("api/vehicles")]
    [InlineData("api/auth/me")]
    public async Task Api_Anonymous_Is401ProblemDetails(string path)
    {
        using var anonymous = fixture.App.CreateClient();

        var response = await anonymous.GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Pages_Anonymous_RedirectToLogin()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.App.BaseAddress };

        var response = await anonymous.GetAsync("", Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/account/login", response.Headers.Location!.AbsolutePath);
    }

    [Fact]
    public async Task Health_DatabaseAnswers_Is200()
    {
        using var anonymous = fixture.App.CreateClient();

        var response = await anonymous.GetAsync("health", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
