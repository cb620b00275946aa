using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>The admin's job explorer in Chromium: tabs with counts, search, a job's timeline, a bulk action that names its count.</summary>
public sealed class JobExplorerFlowTests(WorkingAppFixture app, BrowserFixture browser)
    : IClassFixture<WorkingAppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_Explorer_FindsAJobShowsItsAttemptsAndConfirmsBulkActionsWithTheCount() =>
        browser.RunAsync(app.App.BaseAddress, "job-explorer", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "jobs-admin@example.test"); // the first account: an admin
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, "Defender");
            await page.Locator("#file-input").SetInputFilesAsync(new[]
            {
                TestData.Image("exif-samples__Canon_40D.jpg"),
                TestData.Image("exif-orientation-examples__Landscape_1.jpg"),
            });
            await Expect(page.Locator(".status-badge[data-status=complete]")).ToHaveCountAsync(2, new() { Timeout = 30_000 });

            await page.GotoAsync("admin/jobs");
            await Expect(page.Locator("#jobs-table tbody tr")).ToHaveCountAsync(2);
            await Expect(page.Locator("#status-tabs")).ToContainTextAsync("complete (2)");

            await Expect(page.Locator("#job-search-go")).ToBeEnabledAsync(); // the page is interactive: typing now is kept
            await page.Locator("input#job-search").FillAsync("Canon");
            await page.Locator("#job-search-go").ClickAsync();
            await Expect(page.Locator("#jobs-table tbody tr")).ToHaveCountAsync(1);
            await Expect(page.Locator("#jobs-total")).ToHaveTextAsync("1 matching");

            await page.Locator("#cancel-matching").ClickAsync();
            var confirm = page.Locator(".mud-dialog", new() { HasText = "Cancel 1 job(s)?" });
            await confirm.GetByRole(AriaRole.Button, new() { Name = "Keep as is" }).ClickAsync();
            await Expect(confirm).ToHaveCountAsync(0);

            await page.Locator("#jobs-table tbody tr a").ClickAsync();
            await Expect(page.Locator("#job-status")).ToHaveTextAsync("complete");
            await Expect(page.Locator("#job-attempts tbody")).ToContainTextAsync("complete");
            await Expect(page.Locator("#job-attempts tbody")).ToContainTextAsync("pixel-metrics-1");
            await Expect(page.Locator("#job-summary")).ToContainTextAsync("exif-samples__Canon_40D.jpg");
        });
}
