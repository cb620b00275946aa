using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Endpoints;

namespace VehicleImages.Tests.Limits;

/// <summary>Accounts:Registration on the real app; each test starts a fresh one, so "first account" means first ever.</summary>
public sealed class RegistrationModeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(string mode) =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Accounts:Registration"] = mode, ["Processing:Workers"] = "0" });

    private static Task<HttpResponseMessage> RegisterAsync(HttpClient client, string email, string? invitation = null) =>
        client.PostAsJsonAsync("api/auth/register", new { email, password = "Passw0rd!", invitation }, Ct);

    private static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString()!;

    private static async Task<long> UsersAsync(TestApp app) => await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM asp_net_users");

    [Fact]
    public async Task Closed_FirstAccountStillRegistersAsAdmin_LaterOnes403WithReason()
    {
        await using var app = await StartAsync("closed");
        using var anonymous = app.CreateClient();

        var first = await RegisterAsync(anonymous, "admin@example.test");
        var second = await RegisterAsync(anonymous, "late@example.test");
        var page = WebUtility.HtmlDecode(await anonymous.GetStringAsync("account/register", Ct));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Equal("Registration is closed on this server. Ask its administrator for an account.", await DetailAsync(second));
        Assert.Equal(1L, await UsersAsync(app));
        using var admin = await app.CreateUserClientAsync("admin@example.test");
        Assert.Equal(["Admin"], (await admin.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct))!.Roles);
        Assert.Contains("Registration is closed on this server.", page);
        Assert.DoesNotContain("id=\"register\"", page);
    }

    [Fact]
    public async Task Closed_FreshInstall_RegisterPageOffersTheForm()
    {
        await using var app = await StartAsync("closed");
        using var anonymous = app.CreateClient();

        var page = await anonymous.GetStringAsync("account/register", Ct);

        Assert.Contains("id=\"register\"", page);
        Assert.DoesNotContain("registration-refused", page);
    }

    [Fact]
    public async Task Invite_RegisterNeedsAValidUnusedUnexpiredInvitation()
    {
        await using var app = await StartAsync("invite");
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await RegisterAsync(anonymous, "admin@example.test")).StatusCode); // the first: no invitation needed
        using var admin = await app.CreateUserClientAsync("admin@example.test");

        var uninvited = await RegisterAsync(anonymous, "uninvited@example.test");
        var created = await admin.PostAsync("api/admin/invitations", null, Ct);
        var invitation = (await created.Content.ReadFromJsonAsync<InvitationResponse>(Ct))!;
        var guessed = await RegisterAsync(anonymous, "guesser@example.test", "not-a-real-token");
        var invited = await RegisterAsync(anonymous, "invited@example.test", invitation.Token);
        var reused = await RegisterAsync(anonymous, "second@example.test", invitation.Token);

        Assert.Equal(HttpStatusCode.Forbidden, uninvited.StatusCode);
        Assert.Equal("Registration is by invitation only. Open the invitation link an administrator sent you.", await DetailAsync(uninvited));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(new Uri(app.BaseAddress, $"account/register?invitation={invitation.Token}"), new Uri(invitation.Url));
        Assert.InRange(invitation.ExpiresAt, DateTimeOffset.UtcNow.AddDays(7).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7).AddMinutes(5));
        Assert.Equal(HttpStatusCode.Forbidden, guessed.StatusCode);
        Assert.StartsWith("This invitation link is not valid.", await DetailAsync(guessed));
        Assert.Equal(HttpStatusCode.OK, invited.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, reused.StatusCode);
        Assert.Equal("This invitation has already been used. Ask an administrator for a new one.", await DetailAsync(reused));
        using var newcomer = await app.CreateUserClientAsync("invited@example.test");
        Assert.Equal(["User"], (await newcomer.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct))!.Roles);
        Assert.Equal(2L, await UsersAsync(app));
        // Only the token's hash is stored.
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM invitations WHERE token_hash LIKE '%' || @t || '%'", ("t", invitation.Token)));

        // An expired invitation is refused, and says so.
        var late = (await (await admin.PostAsync("api/admin/invitations", null, Ct)).Content.ReadFromJsonAsync<InvitationResponse>(Ct))!;
        await ImageRows.ScalarAsync<int>(app.ConnectionString, "WITH e AS (UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL RETURNING 1) SELECT count(*)::int FROM e");
        var expired = await RegisterAsync(anonymous, "late@example.test", late.Token);
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
        Assert.Equal("This invitation has expired. Ask an administrator for a new one.", await DetailAsync(expired));

        // Invitations are for admins to make.
        Assert.Equal(HttpStatusCode.Forbidden, (await newcomer.PostAsync("api/admin/invitations", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task Invite_RegisterPage_ReadsTheInvitationFromTheLinkAndPostsItBack()
    {
        await using var app = await StartAsync("invite");
        using var anonymous = app.CreateClient();
        await RegisterAsync(anonymous, "admin@example.test");
        using var admin = await app.CreateUserClientAsync("admin@example.test");
        var invitation = (await (await admin.PostAsync("api/admin/invitations", null, Ct)).Content.ReadFromJsonAsync<InvitationResponse>(Ct))!;
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress };

        var withoutLink = WebUtility.HtmlDecode(await browser.GetStringAsync("account/register", Ct));
        var form = await browser.GetStringAsync(new Uri(invitation.Url).PathAndQuery, Ct);
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var posted = await browser.PostAsync(new Uri(invitation.Url).PathAndQuery, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "register", ["__RequestVerificationToken"] = token, ["Input.Email"] = "invited@example.test",
            ["Input.Password"] = "Passw0rd!", ["Input.ConfirmPassword"] = "Passw0rd!",
        }), Ct);

        Assert.Contains("Registration is by invitation only.", withoutLink);
        Assert.DoesNotContain("id=\"register\"", withoutLink);
        Assert.Contains("You were invited", form);
        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode); // signed in and sent on
        Assert.Equal(2L, await UsersAsync(app));
        Assert.NotNull(await ImageRows.ScalarAsync<DateTime?>(app.ConnectionString, "SELECT used_at FROM invitations"));
    }

    [Fact]
    public async Task Open_Default_AnyoneRegisters()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());
        using var anonymous = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await RegisterAsync(anonymous, "first@example.test")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RegisterAsync(anonymous, "second@example.test")).StatusCode);
    }
}
