using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace VehicleImages.Benchmarks.Support;

/// <summary>Debian's Chromium through Playwright, and signing in as a browser does.</summary>
internal static class Browsers
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> ChromiumAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"the live figures need Chromium at {ChromiumPath} (apt-get install chromium)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                // Background tabs keep their timers and sockets running, as the open tabs of a person do.
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"],
        });
        return (playwright, browser);
    }

    /// <summary>A browser context signed in through the login form.</summary>
    public static async Task<IBrowserContext> SignedInContextAsync(IBrowser browser, Uri baseAddress, string email)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("account/login");
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync("Passw0rd!");
        await page.Locator("#sign-in").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/account/login"));
        await page.CloseAsync();
        return context;
    }

    /// <summary>Opens a gallery and waits until its circuit is interactive (the uploader marks itself ready).</summary>
    public static async Task<IPage> OpenGalleryAsync(IBrowserContext context, Guid vehicle)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync($"vehicles/{vehicle}");
        await page.Locator("#upload-root[data-ready=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        return page;
    }

    /// <summary>Signs in through the login form, as a browser does, and returns a client with the cookie.</summary>
    public static async Task<HttpClient> SignInAsync(Uri baseAddress, string email)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true };
        var client = new HttpClient(handler) { BaseAddress = baseAddress };
        var form = await client.GetStringAsync("account/login");
        var input = Regex.Match(form, "<input[^>]*__RequestVerificationToken[^>]*>").Value;
        var token = WebUtility.HtmlDecode(Regex.Match(input, "value=\"([^\"]+)\"").Groups[1].Value);
        var response = await client.PostAsync("account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["_handler"] = "login", ["Input.Email"] = email, ["Input.Password"] = "Passw0rd!",
        }));
        response.EnsureSuccessStatusCode();
        return client;
    }
}
