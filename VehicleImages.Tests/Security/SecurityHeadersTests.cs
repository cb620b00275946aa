using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Security;

public sealed class SecurityHeadersTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Csp(HttpResponseMessage response) =>
        string.Join(", ", response.Headers.TryGetValues("Content-Security-Policy", out var values) ? values : []);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    [Fact]
    public async Task Page_HasContentSecurityPolicy_WithNonceOfItsImportMap_AndNosniff()
    {
        using var anonymous = fixture.App.CreateClient();

        var response = await anonymous.GetAsync("account/login", Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);

        var csp = Csp(response);
        Assert.Contains("frame-ancestors 'self'", csp);
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("object-src 'none'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        var scripts = Regex.Match(csp, "script-src ([^;]*)").Groups[1].Value;
        Assert.DoesNotContain("unsafe-inline", scripts);
        var nonce = Regex.Match(scripts, "'nonce-([^']+)'").Groups[1].Value;
        Assert.NotEmpty(nonce);
        // Every inline script on the page (the import map) carries the nonce; no other inline script exists.
        var inline = Regex.Matches(html, "<script(?![^>]*\\bsrc=)[^>]*>").Select(m => m.Value).ToList();
        Assert.NotEmpty(inline);
        Assert.All(inline, tag => Assert.Contains($"nonce=\"{nonce}\"", System.Net.WebUtility.HtmlDecode(tag)));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));

        // A fresh nonce per answer.
        var again = await anonymous.GetAsync("account/login", Ct);
        Assert.DoesNotContain(nonce, Csp(again));
    }

    [Theory]
    [InlineData("api/vehicles")]
    [InlineData("health")]
    [InlineData("no/such/page")]
    public async Task EveryAnswer_IsNosniff(string path)
    {
        using var anonymous = fixture.App.CreateClient();

        var response = await anonymous.GetAsync(path, Ct);

        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Contains("frame-ancestors 'self'", Csp(response));
    }

    [Fact]
    public async Task PlainHttp_HasNoHstsAndNoSecureCookies()
    {
        using var anonymous = fixture.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "account/login");
        request.Headers.Host = "vehicles.example.test";

        var response = await anonymous.SendAsync(request, Ct);

        Assert.Null(Header(response, "Strict-Transport-Security"));
        var cookies = response.Headers.GetValues("Set-Cookie").ToList();
        Assert.NotEmpty(cookies);
        Assert.All(cookies, c => Assert.DoesNotContain("secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task BehindTls_ForwardedProtoHttps_SendsHstsAndSecureAntiforgeryAndLoginCookies()
    {
        const string email = "tls@example.test";
        using (var anonymous = fixture.App.CreateClient())
            await anonymous.PostAsJsonAsync("api/auth/register", new { email, password = "Passw0rd!" }, Ct);
        // As a TLS-terminating proxy on loopback forwards it: public host, X-Forwarded-Proto: https.
        using var proxy = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = fixture.App.BaseAddress };
        HttpRequestMessage Forwarded(HttpMethod method, string path)
        {
            var request = new HttpRequestMessage(method, path);
            request.Headers.Host = "vehicles.example.test";
            request.Headers.Add("X-Forwarded-Proto", "https");
            return request;
        }

        using var get = Forwarded(HttpMethod.Get, "account/login");
        var page = await proxy.SendAsync(get, Ct);
        Assert.StartsWith("max-age=", Header(page, "Strict-Transport-Security"));
        var antiforgeryCookie = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("; secure", antiforgeryCookie, StringComparison.OrdinalIgnoreCase);

        using var post = Forwarded(HttpMethod.Post, "account/login");
        var form = BrowserSession.HiddenFields(await page.Content.ReadAsStringAsync(Ct));
        form["Input.Email"] = email;
        form["Input.Password"] = "Passw0rd!";
        post.Content = new FormUrlEncodedContent(form);
        post.Headers.Add("Cookie", antiforgeryCookie.Split(';')[0]);
        var signedIn = await proxy.SendAsync(post, Ct);

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var login = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("VehicleImages.Auth=", StringComparison.Ordinal));
        Assert.Contains("; secure", login, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", login, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Original_IsAnAttachmentNamedSafely_AndSandboxed_OtherVariantsAreNot()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);
        // A JPEG under a name that is not ASCII and claims another type.
        var id = (await UploadTests.UploadAsync(client, vehicle, ("Mon bolide d'été.png", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")))))
            .Single().ImageId!.Value;

        var original = await client.GetAsync($"api/images/{id}/original", Ct);

        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal("sandbox", Csp(original));
        Assert.Equal("nosniff", Header(original, "X-Content-Type-Options"));
        var disposition = original.Content.Headers.ContentDisposition!;
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.Equal("Mon bolide d'été.jpg", disposition.FileNameStar);
        // The plain filename parameter is ASCII only (the header itself must be).
        var raw = Header(original, "Content-Disposition")!;
        Assert.True(raw.All(char.IsAscii), raw);
        Assert.Contains("filename*=UTF-8''", raw);

        var thumb = await client.GetAsync($"api/images/{id}/thumb", Ct);
        Assert.Null(thumb.Content.Headers.ContentDisposition);
        Assert.DoesNotContain("sandbox", Csp(thumb));
    }
}
