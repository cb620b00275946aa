using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using VehicleImages.Web.Security;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// An HTTP client that signs in the way the browser does: the /account/login form (with its
/// antiforgery field), then the login cookie on every call. For tests of what the cookie may do.
/// </summary>
public static partial class BrowserSession
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Registers the account (unless it exists) and signs in through the login page; the client keeps the cookies (in <paramref name="cookies"/> when given).</summary>
    public static async Task<HttpClient> SignInAsync(TestApp app, string email, CookieContainer? cookies = null, string password = "Passw0rd!")
    {
        using (var anonymous = app.CreateClient())
            await anonymous.PostAsJsonAsync("api/auth/register", new { email, password }, Ct);

        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = app.BaseAddress,
        };
        var form = HiddenFields(await client.GetStringAsync("account/login", Ct));
        form["Input.Email"] = email;
        form["Input.Password"] = password;
        var response = await client.PostAsync("account/login", new FormUrlEncodedContent(form), Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("VehicleImages.Auth=", StringComparison.Ordinal));
        return client;
    }

    /// <summary>What the page's script does before a change: asks for the antiforgery token and sends it in the header it names.</summary>
    public static async Task<HttpClient> WithAntiforgeryTokenAsync(this HttpClient client)
    {
        var token = await client.GetFromJsonAsync<AntiforgeryTokenResponse>("api/antiforgery/token", Ct);
        Assert.Equal(ApiAntiforgery.HeaderName, token!.HeaderName);
        client.DefaultRequestHeaders.Remove(token.HeaderName);
        client.DefaultRequestHeaders.Add(token.HeaderName, token.RequestToken);
        return client;
    }

    /// <summary>The hidden inputs of a server-rendered form (the handler name and the antiforgery field).</summary>
    public static Dictionary<string, string> HiddenFields(string html) =>
        Input().Matches(html).Select(m => m.Value)
            .Where(tag => Attribute(tag, "type") == "hidden" && Attribute(tag, "name") is not null)
            .ToDictionary(tag => Attribute(tag, "name")!, tag => Attribute(tag, "value") ?? "");

    private static string? Attribute(string tag, string name) =>
        Regex.Match(tag, "\\s" + name + "=\"(?<v>[^\"]*)\"") is { Success: true } m ? WebUtility.HtmlDecode(m.Groups["v"].Value) : null;

    [GeneratedRegex("<input\\b[^>]*>")]
    private static partial Regex Input();
}
