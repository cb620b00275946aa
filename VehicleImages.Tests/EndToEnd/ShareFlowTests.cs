using System.IO.Compression;
using Microsoft.Playwright;
using VehicleImages.Tests.Sharing;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>Share links in Chromium: the owner makes one from the gallery; a visitor without an account browses, views and downloads.</summary>
public sealed class ShareFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    public static TheoryData<ColorScheme> Themes => [ColorScheme.Light, ColorScheme.Dark];

    [Fact]
    public Task Browser_OwnerSharesFromTheGallery_VisitorUsesTheViewerByKeyboard_DownloadsTheZip_WithoutACookie() =>
        browser.RunAsync(app.App.BaseAddress, "share-flow", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "sharer@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, "Porsche to sell");
            var vehicleId = Guid.Parse(new Uri(page.Url).Segments[^1]);
            await page.Locator("#file-input").SetInputFilesAsync(new[]
            {
                TestData.Image("exif-samples__DSCN0010.jpg"), TestData.Image("exif-samples__canon_hdr_YES.jpg"), TestData.Image("exif-samples__Kodak_CX7530.jpg"),
            });
            await Expect(page.Locator(".photo-card")).ToHaveCountAsync(3, new() { Timeout = 60_000 });
            var ids = await IdsAsync(vehicleId);
            await Listings.ExportTests.AnalysedAsync(app.App.ConnectionString,
                (ids["exif-samples__DSCN0010.jpg"], "exterior.front"), (ids["exif-samples__canon_hdr_YES.jpg"], "exterior.front_3q_left"),
                (ids["exif-samples__Kodak_CX7530.jpg"], "interior.dashboard"));

            // The owner: Share → defaults (the listing, 30 days, downloads allowed) → the link.
            await page.Locator("#open-share").ClickAsync();
            await Expect(page.Locator("#share-days")).ToHaveValueAsync("30");
            await Expect(page.Locator("#share-none")).ToBeVisibleAsync();
            await Expect(page.Locator("#share-unreviewed")).ToHaveTextAsync("3 photos of this set not yet reviewed for number plates and faces.");
            await page.Locator("#share-create").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Share anyway" }).ClickAsync();
            var link = page.Locator("#share-link");
            await Expect(link).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("/s/[A-Za-z0-9_-]{43}$"));
            var url = await link.InputValueAsync();
            await Expect(page.Locator(".share-row")).ToHaveCountAsync(1);
            await Accessibility.AssertNoViolationsAsync(page, "the share dialog");
            await page.Locator("#share-close").ClickAsync();

            // A visitor in a browser of their own: no account, no cookie.
            await using var visitorContext = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 390, Height = 844 }, // a phone
                AcceptDownloads = true,
            });
            var visitor = await visitorContext.NewPageAsync();
            await visitor.GotoAsync(url);
            await Expect(visitor.Locator("h1")).ToHaveTextAsync("Porsche to sell");
            var photos = visitor.Locator("#share-grid .share-photo");
            await Expect(photos).ToHaveCountAsync(3);
            await Expect(visitor.Locator("#share-grid figcaption").First).ToHaveTextAsync("Front 3/4 left");
            await Expect(photos.First.Locator("img")).ToHaveJSPropertyAsync("complete", true);
            Assert.True(await photos.First.Locator("img").EvaluateAsync<int>("i => i.naturalWidth") > 0);

            // The viewer: opened from the keyboard, arrows move (and wrap), Escape closes and gives focus back.
            await photos.First.FocusAsync();
            await visitor.Keyboard.PressAsync("Enter");
            var viewer = visitor.Locator("#share-viewer");
            await Expect(viewer).ToHaveAttributeAsync("open", "");
            var caption = visitor.Locator("#share-viewer-caption");
            await Expect(caption).ToHaveTextAsync("Front 3/4 left (1 of 3)");
            await visitor.Keyboard.PressAsync("ArrowRight");
            await Expect(caption).ToHaveTextAsync("Front (2 of 3)");
            await visitor.Keyboard.PressAsync("ArrowRight");
            await Expect(caption).ToHaveTextAsync("Dashboard (3 of 3)");
            await visitor.Keyboard.PressAsync("ArrowRight");
            await Expect(caption).ToHaveTextAsync("Front 3/4 left (1 of 3)");
            await visitor.Keyboard.PressAsync("ArrowLeft");
            await Expect(caption).ToHaveTextAsync("Dashboard (3 of 3)");
            await Expect(visitor.Locator("#share-viewer-image")).ToHaveJSPropertyAsync("complete", true);
            Assert.True(await visitor.Locator("#share-viewer-image").EvaluateAsync<int>("i => i.naturalWidth") > 0);
            // A swipe to the left (a drag on a phone's screen) moves on, like the right arrow.
            await visitor.Mouse.MoveAsync(300, 420);
            await visitor.Mouse.DownAsync();
            await visitor.Mouse.MoveAsync(200, 425, new() { Steps = 5 });
            await visitor.Mouse.MoveAsync(80, 430, new() { Steps = 5 });
            await visitor.Mouse.UpAsync();
            await Expect(caption).ToHaveTextAsync("Front 3/4 left (1 of 3)");
            await visitor.Keyboard.PressAsync("Escape");
            await Expect(viewer).Not.ToHaveAttributeAsync("open", "");
            await Expect(photos.First).ToBeFocusedAsync();

            // Download all: the zip at 2048, whole.
            var download = await visitor.RunAndWaitForDownloadAsync(() => visitor.Locator("#share-download").ClickAsync());
            var file = Path.Combine(Path.GetTempPath(), $"share-{Guid.NewGuid():N}.zip");
            await download.SaveAsAsync(file);
            try
            {
                using var zip = ZipFile.OpenRead(file);
                Assert.Equal(["01-exterior-front_3q_left.jpg", "02-exterior-front.jpg", "03-interior-dashboard.jpg", "photos.csv"],
                    zip.Entries.Select(e => e.FullName));
                foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".jpg", StringComparison.Ordinal)))
                    Listings.ExportTests.AssertNothingPrivate(entry.FullName, Listings.ExportTests.Bytes(entry));
            }
            finally
            {
                File.Delete(file);
            }
            Assert.Empty(await visitorContext.CookiesAsync());

            // Back with the owner: the visit is counted; revoking ends the page at once.
            await page.Locator("#open-share").ClickAsync();
            await Expect(page.Locator(".share-row .share-views")).ToContainTextAsync("1 view, last");
            await page.Locator(".share-row .share-revoke").ClickAsync();
            await Expect(page.Locator(".share-row")).ToHaveAttributeAsync("data-state", "revoked");
            var gone = await visitor.GotoAsync(url);
            Assert.Equal(404, gone!.Status);
            await Expect(visitor.Locator("h1")).ToHaveTextAsync("This link does not work");
        });

    [Theory]
    [MemberData(nameof(Themes))]
    public async Task Axe_SharePage_Viewer_AndPasswordForm_HaveNoViolations(ColorScheme theme)
    {
        var (owner, vehicle, _, _) = await ShareLinkTests.VehicleWithPhotosAsync(app.App);
        var (_, open, _) = await ShareLinkTests.ShareAsync(owner, vehicle, new { });
        var (_, locked, _) = await ShareLinkTests.ShareAsync(owner, vehicle, new { password = "Blue-Heron-19" });
        await browser.RunAsync(app.App.BaseAddress, $"share-axe-{theme}", async page =>
        {
            await page.GotoAsync(open);
            await Expect(page.Locator("#share-grid .share-photo")).ToHaveCountAsync(3);
            await Expect(page.Locator("body")).ToHaveCSSAsync("background-color", theme == ColorScheme.Dark ? "rgb(23, 23, 27)" : "rgb(255, 255, 255)");
            await Accessibility.AssertNoViolationsAsync(page, $"the share page ({theme})");
            await page.Locator("#share-grid .share-photo").Nth(1).ClickAsync();
            await Expect(page.Locator("#share-viewer-caption")).ToHaveTextAsync("Front (2 of 3)");
            await Accessibility.AssertNoViolationsAsync(page, $"the share viewer ({theme})");
            await page.Keyboard.PressAsync("Escape");

            await page.GotoAsync(locked);
            await Expect(page.Locator("#share-password")).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"the share password form ({theme})");
            await page.Locator("#share-password").FillAsync("wrong");
            await page.Locator("#share-unlock").ClickAsync();
            await Expect(page.Locator("#share-password-error")).ToHaveTextAsync("That password is not right.");
            await Accessibility.AssertNoViolationsAsync(page, $"the share password form with its error ({theme})");
            await page.Locator("#share-password").FillAsync("Blue-Heron-19");
            await page.Locator("#share-unlock").ClickAsync();
            await Expect(page.Locator("#share-grid .share-photo")).ToHaveCountAsync(3);

            await page.GotoAsync("/s/" + new string('Z', 43));
            await Accessibility.AssertNoViolationsAsync(page, $"the share not-found page ({theme})");
        }, theme);
    }

    private async Task<Dictionary<string, Guid>> IdsAsync(Guid vehicleId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.App.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT file_name, id FROM vehicle_images WHERE vehicle_id = @v", connection);
        cmd.Parameters.AddWithValue("v", vehicleId);
        var ids = new Dictionary<string, Guid>();
        await using var reader = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            ids[reader.GetString(0)] = reader.GetGuid(1);
        return ids;
    }
}
