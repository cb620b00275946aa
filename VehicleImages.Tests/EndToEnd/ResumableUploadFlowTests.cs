using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>The gallery's tus uploader in Chromium: what it survives without the person doing anything.</summary>
public sealed class ResumableUploadFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    /// <summary>Distinct photos (bytes after the JPEG's end marker change the hash, not the picture), as files to pick.</summary>
    private static string[] Photos(int count, int padding = 0)
    {
        var folder = Directory.CreateTempSubdirectory("vi-e2e-photos-").FullName;
        var photo = File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"));
        var salt = Random.Shared.NextInt64();
        return Enumerable.Range(0, count).Select(i =>
        {
            var path = Path.Combine(folder, $"IMG_{i:0000}.jpg");
            File.WriteAllBytes(path, [.. photo, .. BitConverter.GetBytes(salt), .. BitConverter.GetBytes(i), .. new byte[padding]]);
            return path;
        }).ToArray();
    }

    private Task<long> StoredAsync(string vehicleName) => ImageRows.ScalarAsync<long>(app.App.ConnectionString,
        "SELECT count(*) FROM vehicle_images i JOIN vehicles v ON v.id = i.vehicle_id WHERE v.name = @n", ("n", vehicleName));

    /// <summary>Every upload request waits a little before it goes out, so a batch takes seconds instead of milliseconds.</summary>
    private static Task ThrottleUploadsAsync(IPage page, int delayMs) =>
        page.RouteAsync("**/api/uploads**", async route =>
        {
            await Task.Delay(delayMs);
            try
            {
                await route.ContinueAsync();
            }
            catch (PlaywrightException)
            {
                // The page was reloaded or went offline while the request waited.
            }
        });

    [Fact]
    public Task Browser_OfflineForSecondsMidBatch_All20StoredOnceWithNoClick() =>
        browser.RunAsync(app.App.BaseAddress, "tus-offline", async page =>
        {
            var vehicle = $"Offline {Guid.NewGuid():N}";
            await BrowserSteps.RegisterAsync(page, $"offline-{Guid.NewGuid():N}@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, vehicle);
            await ThrottleUploadsAsync(page, 250);

            await page.Locator("#file-input").SetInputFilesAsync(Photos(20));
            await Expect(page.Locator(".upload-row")).ToHaveCountAsync(20);
            await Expect(page.Locator(".upload-row[data-outcome=created]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });

            await page.Context.SetOfflineAsync(true);
            var doneWhenOffline = await page.Locator(".upload-row[data-state=done]").CountAsync();
            Assert.True(doneWhenOffline < 20, "the batch finished before the connection went away");
            await Expect(page.Locator(".upload-row[data-state=offline]").First).ToBeAttachedAsync();
            await Expect(page.Locator("#upload-summary")).ToContainTextAsync("offline");
            await page.WaitForTimeoutAsync(4000);
            await page.Context.SetOfflineAsync(false);

            await Expect(page.Locator(".upload-row[data-outcome=created]")).ToHaveCountAsync(20, new() { Timeout = 60_000 });
            await Expect(page.Locator("#upload-summary")).ToContainTextAsync("20 of 20");
            Assert.Equal(20, await StoredAsync(vehicle));
            await Expect(page.Locator(".photo-card")).ToHaveCountAsync(20);
        });

    [Fact]
    public Task Browser_ReloadMidBatch_TheRestArriveWithoutPickingAgain() =>
        browser.RunAsync(app.App.BaseAddress, "tus-reload", async page =>
        {
            var vehicle = $"Reload {Guid.NewGuid():N}";
            await BrowserSteps.RegisterAsync(page, $"reload-{Guid.NewGuid():N}@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, vehicle);
            await ThrottleUploadsAsync(page, 400);

            const int count = 12;
            await page.Locator("#file-input").SetInputFilesAsync(Photos(count));
            await Expect(page.Locator(".upload-row[data-outcome=created]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
            await page.ReloadAsync();

            // The files not yet stored are back in the list, taken from the browser's storage, and go on by themselves;
            // the ones finished before the reload are shown again as they were, so the list is the whole batch.
            await Expect(page.Locator("[data-restored=true] #upload-list")).ToBeAttachedAsync(new() { Timeout = 30_000 });
            await Expect(page.Locator(".upload-row")).ToHaveCountAsync(count);
            // The reload came mid-batch: some files were kept for this page to finish, some were already stored.
            Assert.InRange(await page.Locator(".upload-row[data-kept=true]").CountAsync(), 1, count - 1);
            // Each kept file ends stored by this page, or, when its last byte had reached the server just
            // before the reload, found by the pre-check as already in the vehicle; none fails or is stored twice.
            await Expect(page.Locator(".upload-row[data-state=done]")).ToHaveCountAsync(count, new() { Timeout = 60_000 });
            Assert.Equal(count, await page.Locator(".upload-row[data-outcome=created]").CountAsync()
                                + await page.Locator(".upload-row[data-outcome=duplicate]").CountAsync());
            await Expect(page.Locator("#upload-summary")).ToContainTextAsync($"{count} of {count}");
            Assert.Equal(count, await StoredAsync(vehicle));
            // Nothing left to resume: a second reload shows an empty list.
            await page.ReloadAsync();
            await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
            await page.WaitForTimeoutAsync(1000);
            await Expect(page.Locator(".upload-row")).ToHaveCountAsync(0);
        });

    [Fact]
    public Task Browser_FileAlreadyInTheVehicle_SkippedBeforeAnyByteIsSent() =>
        browser.RunAsync(app.App.BaseAddress, "tus-duplicate", async page =>
        {
            var vehicle = $"Duplicate {Guid.NewGuid():N}";
            await BrowserSteps.RegisterAsync(page, $"duplicate-{Guid.NewGuid():N}@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, vehicle);
            var photo = Photos(1);
            await page.Locator("#file-input").SetInputFilesAsync(photo);
            await Expect(page.Locator(".upload-row[data-outcome=created]")).ToHaveCountAsync(1, new() { Timeout = 30_000 });

            var sent = new List<string>();
            page.Request += (_, request) =>
            {
                if (request.Url.Contains("/api/uploads", StringComparison.Ordinal) && request.Method != "GET")
                    lock (sent)
                        sent.Add($"{request.Method} {request.Url}");
            };
            await page.Locator("#file-input").SetInputFilesAsync(photo);

            await Expect(page.Locator(".upload-row[data-outcome=duplicate]")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            await Expect(page.Locator(".upload-row[data-outcome=duplicate]")).ToContainTextAsync("already in this vehicle");
            lock (sent)
                Assert.Empty(sent);
            Assert.Equal(1, await StoredAsync(vehicle));
        });
}
