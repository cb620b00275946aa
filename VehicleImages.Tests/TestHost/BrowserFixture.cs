using Microsoft.Playwright;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// Debian's Chromium driven by Playwright (the Playwright browser download does not work here).
/// One browser per test class; each test gets a fresh context, and a screenshot when it fails.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"Browser tests need Debian's Chromium at {ChromiumPath}; ./test.sh installs it (apt-get install chromium).");
        // Expect(...) waits as long as an action does (Playwright's default for assertions is 5 s): on a
        // loaded 2-core machine an upload's answer, which the gallery waits for before it shows the
        // cards, has taken longer than that.
        Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        });
    }

    /// <summary>Runs <paramref name="test"/> on a new page; on failure saves a screenshot under TestResults/artifacts.</summary>
    /// <param name="colorScheme">the device's light or dark setting the pages see (prefers-color-scheme); light unless given</param>
    public async Task RunAsync(Uri baseAddress, string name, Func<IPage, Task> test, ColorScheme colorScheme = ColorScheme.Light)
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            ColorScheme = colorScheme,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        // Whatever the Content-Security-Policy blocks, Chromium reports on the console: every test checks there was nothing.
        var blocked = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
                lock (blocked)
                    blocked.Add(message.Text);
        };
        try
        {
            await test(page);
            lock (blocked)
                Assert.True(blocked.Count == 0, "blocked by the Content-Security-Policy:\n" + string.Join("\n", blocked));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepoPaths.Artifacts, $"{name}.png"), FullPage = true });
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepoPaths.Artifacts, $"{name}-FAILED.png"), FullPage = true });
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
