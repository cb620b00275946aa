using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

public sealed class GalleryFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_UploadGoodAndBadPhotos_SeesOutcomesThumbnailsAndExif() =>
        browser.RunAsync(app.App.BaseAddress, "gallery-upload", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "gallery@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, "Land Cruiser");
            await Expect(page.Locator("#no-photos")).ToBeVisibleAsync();

            await page.Locator("#file-input").SetInputFilesAsync(new[]
            {
                TestData.Image("exif-samples__Canon_40D.jpg"),
                TestData.Image("exif-samples__iphone_13_pro_max.HEIC"),
                TestData.BadFile("truncated_libvips.jpg"),
            });

            var rows = page.Locator(".upload-row");
            await Expect(rows).ToHaveCountAsync(3);
            await Expect(page.Locator(".upload-row[data-outcome=created]")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
            await Expect(page.Locator(".upload-row[data-outcome=rejected]")).ToContainTextAsync("truncated");

            var cards = page.Locator(".photo-card");
            await Expect(cards).ToHaveCountAsync(2);
            await Expect(cards.First.Locator(".status-badge")).ToHaveTextAsync("Processing");
            await Expect(page.Locator("#summary")).ToContainTextAsync("2 processing");

            await page.Locator(".photo-card", new() { HasText = "Canon_40D" }).Locator("img").ClickAsync();
            await Expect(page.Locator("#exif-table")).ToContainTextAsync("Canon EOS 40D");
            await Expect(page.Locator("#exif-table")).ToContainTextAsync("2008-05-30");
            await page.Locator("#delete-photo").ClickAsync();
            var confirm = page.Locator(".mud-dialog", new() { HasText = "cannot be undone" });
            await confirm.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
            await Expect(cards).ToHaveCountAsync(1);
            await Expect(cards.First).ToContainTextAsync("iphone_13_pro_max");
        });
}
