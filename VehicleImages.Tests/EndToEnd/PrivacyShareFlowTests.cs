using System.Net;
using Microsoft.Playwright;
using NetVips;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.Listings;
using VehicleImages.Tests.Privacy;
using VehicleImages.Tests.Sharing;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;
using Image = NetVips.Image;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// Where privacy boxes, the blur and share links meet (issues 27 and 28): a person draws a box over a plate in Chromium,
/// and the image a visitor of the vehicle's share link gets is blurred there (tesseract reads nothing of the plate),
/// while the owner's own copy stays clear.
/// </summary>
public sealed class PrivacyShareFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Browser_PersonDrawsABoxOverThePlate_TheSharePagesImageIsBlurredThere_AndTheOwnersStaysClear()
    {
        const string email = "privacy-share@example.test";
        var plate = PlatePhoto.All().Single(p => p.Name == "test_082.jpg");
        using var owner = await app.App.CreateUserClientAsync(email);
        var vehicle = await UploadTests.CreateVehicleAsync(owner, "Estate for sale");
        var id = (await UploadTests.UploadAsync(owner, vehicle, (plate.Name, File.ReadAllBytes(plate.Path))))[0].ImageId!.Value;
        await ExportTests.AnalysedAsync(app.App.ConnectionString, (id, "exterior.front_3q_left"));
        using var decoded = Image.NewFromFile(plate.Path);
        var box = plate.Box(decoded.Width, decoded.Height);

        await browser.RunAsync(app.App.BaseAddress, "privacy-share", async page =>
        {
            await page.GotoAsync("account/login");
            await page.Locator("#email").FillAsync(email);
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#sign-in").ClickAsync();
            await Expect(page.Locator(".vehicle-card")).ToHaveCountAsync(1);
            await page.GotoAsync($"vehicles/{vehicle}");
            await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
            await page.Locator($".photo-card[data-image-id='{id}'] .photo-open").ClickAsync();
            var stage = page.Locator(".privacy-editor[data-ready=true] .privacy-stage");
            await Expect(stage).ToBeVisibleAsync();

            // Drawn with the mouse from the plate's top left corner to its bottom right one.
            var frame = await BrowserSteps.SettledBoxAsync(stage);
            await page.Mouse.MoveAsync(frame.X + (float)(box.X * frame.Width), frame.Y + (float)(box.Y * frame.Height));
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync(frame.X + (float)((box.X + box.Width) * frame.Width), frame.Y + (float)((box.Y + box.Height) * frame.Height),
                new() { Steps = 8 });
            await page.Mouse.UpAsync();
            await Expect(page.Locator(".privacy-box[data-source=user]")).ToHaveCountAsync(1);
            await page.Locator("#privacy-save").ClickAsync();
            await Expect(page.Locator(".privacy-status")).ToHaveTextAsync("Saved: 1 box.");
        });

        // A visitor without an account opens the vehicle's share link and takes the photo as the page offers it.
        var share = await ShareLinkTests.ShareAsync(owner, vehicle, new { set = "listing" });
        using var visitor = new HttpClient { BaseAddress = app.App.BaseAddress };
        visitor.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.27");
        var html = await visitor.GetStringAsync(share.Path, Ct);
        var large = ShareLinkTests.ImageUrls(html).Select(u => u.Split(' ')[0]).FirstOrDefault(u => u.Contains($"/i/{id}/", StringComparison.Ordinal));
        Assert.NotNull(large);
        var published = await visitor.GetByteArrayAsync($"{share.Path}/i/{id}/large", Ct);
        var clear = await owner.GetByteArrayAsync($"api/images/{id}/large", Ct);

        var (inside, outside) = PrivacyExportTests.Difference(clear, published, box);
        Assert.True(inside > 10, $"the shared photo changed by only {inside:0.0} on average inside the plate's box");
        Assert.True(outside < 3, $"the shared photo changed by {outside:0.0} on average outside the plate's box");
        var readClear = PrivacyBlurTests.Read(clear, plate);
        var readShared = PrivacyBlurTests.Read(published, plate);
        Assert.True(PrivacyBlurTests.LongestRun(plate.Plate, readClear) >= 3, $"tesseract read '{readClear}' from the owner's clear photo of {plate.Plate}");
        Assert.True(PrivacyBlurTests.LongestRun(plate.Plate, readShared) < 3, $"tesseract read '{readShared}' from the shared photo of {plate.Plate}");

        // The owner's own original is the clear one, untouched.
        var original = await owner.GetAsync($"api/images/{id}/original", Ct);
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal(File.ReadAllBytes(plate.Path), await original.Content.ReadAsByteArrayAsync(Ct));
    }
}
