using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

public sealed class AnalysisViewTests(WorkingAppFixture app, BrowserFixture browser)
    : IClassFixture<WorkingAppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Browser_AnalyzedPhoto_ShowsQualityAndExplainsTheLocalAnalyzer()
    {
        const string email = "viewer@example.test";
        using var client = await app.App.CreateUserClientAsync(email);
        var vehicle = await UploadTests.CreateVehicleAsync(client, "Defender");
        var id = (await UploadTests.UploadAsync(client, vehicle, ("DSCN0010.jpg", File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg")))))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(app.App.ConnectionString, "id = @id AND processing_status = 'complete'", ("id", id)) == 1,
            "the analysis");

        await browser.RunAsync(app.App.BaseAddress, "analysis-detail", async page =>
        {
            await page.GotoAsync($"vehicles/{vehicle}");
            await page.Locator("#email").FillAsync(email);
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#sign-in").ClickAsync();

            var card = page.Locator(".photo-card");
            await Expect(card.Locator(".status-badge")).ToHaveTextAsync("Analyzed");
            await Expect(page.Locator("#summary")).ToContainTextAsync("1 analyzed");
            await Expect(page.Locator("[data-ready=true]")).ToBeAttachedAsync(); // the circuit is live
            await card.Locator("img").ClickAsync();
            await Expect(page.Locator("#analysis-table")).ToContainTextAsync("/ 10");
            await Expect(page.Locator("#local-analyzer-note")).ToContainTextAsync("Analysis__Provider=OpenAI");
            await Expect(page.Locator("#exif-table")).ToContainTextAsync("NIKON");
        });
    }
}
