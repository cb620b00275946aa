using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

public sealed class LiveFlowTests(FakeProviderAppFixture app, BrowserFixture browser)
    : IClassFixture<FakeProviderAppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_UploadWatchFailRetryAndRecategorize_WithoutReloading() =>
        browser.RunAsync(app.App.BaseAddress, "live-flow", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "live@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, "Live car");

            // Three different photos (copies of one photo would stack into one card): Processing, then Analyzed, pushed live.
            await page.Locator("#file-input").SetInputFilesAsync(new[]
            {
                TestData.Image("exif-samples__Canon_40D.jpg"),
                TestData.Image("exif-samples__Kodak_CX7530.jpg"),
                TestData.Image("exif-samples__DSCN0010.jpg"),
            });
            var badges = page.Locator(".photo-card .status-badge");
            await Expect(badges).ToHaveCountAsync(3);
            await Expect(page.Locator(".photo-card .status-badge[data-status=complete]")).ToHaveCountAsync(3, new() { Timeout = 30_000 });
            await Expect(page.Locator("#summary")).ToContainTextAsync("3 analyzed");

            // The provider refuses: the photo shows Failed with its reason and a Retry button.
            app.Fake.Script = (_, _) => FakeMode.Unauthorized;
            await page.Locator("#file-input").SetInputFilesAsync(TestData.Image("exif-samples__canon_hdr_YES.jpg"));
            var failed = page.Locator(".photo-card", new() { Has = page.Locator(".status-badge[data-status=failed]") });
            await Expect(failed).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            await Expect(failed.Locator(".failure-reason")).ToContainTextAsync("credentials");
            app.Fake.Script = (_, _) => FakeMode.Ok;
            await failed.Locator(".retry-button").ClickAsync();
            await Expect(page.Locator(".photo-card .status-badge[data-status=complete]")).ToHaveCountAsync(4, new() { Timeout = 30_000 });
            await page.ScreenshotAsync(new() { Path = Path.Combine(RepoPaths.Artifacts, "live-flow-gallery.png"), FullPage = true });

            // The categorizer: all four in Exterior · Front 3/4 left; move one to Interior · Dashboard.
            await page.Locator("#open-categorizer").ClickAsync();
            var front = page.Locator("[data-group='exterior.front_3q_left'] .categorizer-photo");
            await Expect(front).ToHaveCountAsync(4);
            await Expect(page.Locator("#checklist [data-present=true]")).ToHaveCountAsync(1);
            await front.First.Locator("input[type=checkbox]").CheckAsync();
            await page.Locator("#move-category").SelectOptionAsync(new SelectOptionValue { Label = "Interior" });
            await page.Locator("#move-angle").SelectOptionAsync(new SelectOptionValue { Label = "Dashboard" });
            await page.Locator("#move-apply").ClickAsync();
            await Expect(page.Locator("[data-group='interior.dashboard'] .categorizer-photo")).ToHaveCountAsync(1);
            await Expect(front).ToHaveCountAsync(3);
            await Expect(page.Locator("#checklist [data-present=true]")).ToHaveCountAsync(2);
        });
}
