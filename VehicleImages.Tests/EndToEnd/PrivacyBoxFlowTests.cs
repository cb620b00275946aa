using System.Text.Json;
using System.Net.Http.Json;
using Microsoft.Playwright;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// A person reviews plates and faces in Chromium (issue 27): draws and moves a box with the mouse, places and shapes
/// one with the keyboard alone, steps through the unreviewed photos, and sees the warnings before an export; the new
/// views pass axe in light and dark.
/// </summary>
public sealed class PrivacyBoxFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    public static TheoryData<ColorScheme> Themes => [ColorScheme.Light, ColorScheme.Dark];

    private string Cs => app.App.ConnectionString;

    /// <summary>
    /// An owner with a vehicle of real photos of cars with plates (shared/testdata/vehicles), the first with a box the
    /// local detector proposed over its plate (test_082.jpg, 474 × 356: the plate at 185, 246, 114 × 26 px).
    /// </summary>
    private async Task<(Guid VehicleId, Guid[] ImageIds)> SeedAsync(string email, int photos = 1)
    {
        using var client = await app.App.CreateUserClientAsync(email);
        var vehicle = await UploadTests.CreateVehicleAsync(client, "Estate");
        var folder = Path.Combine(Path.GetDirectoryName(TestData.Images)!, "vehicles");
        string[] files = ["test_082.jpg", "test_083.jpg", "test_084.jpg"];
        var created = await UploadTests.UploadAsync(client, vehicle,
            [.. files.Take(photos).Select(f => (f, File.ReadAllBytes(Path.Combine(folder, f))))]);
        var ids = created.Select(c => c.ImageId!.Value).ToArray();
        await ImageRows.ScalarAsync<int>(Cs, """
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source, confidence)
            VALUES (@id, 'plate', 0.39, 0.69, 0.24, 0.07, 'local', 0.7);
            SELECT 1
            """, ("id", ids[0]));
        return (vehicle, ids);
    }

    private static async Task OpenGalleryAsync(IPage page, Guid vehicleId)
    {
        await page.GotoAsync($"vehicles/{vehicleId}");
        await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync(); // the live page, not the prerendered one
    }

    private static async Task SignInAsync(IPage page, string email)
    {
        await page.GotoAsync("account/login");
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync("Passw0rd!");
        await page.Locator("#sign-in").ClickAsync();
        await Expect(page.Locator(".vehicle-card")).ToHaveCountAsync(1);
    }

    private async Task<List<(string Kind, string Source, double X, double Y, double W, double H)>> StoredAsync(Guid imageId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Cs);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "SELECT kind, source, x, y, width, height FROM image_privacy_boxes WHERE image_id = @id ORDER BY x", connection);
        cmd.Parameters.AddWithValue("id", imageId);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, string, double, double, double, double)>();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5)));
        return rows;
    }

    private Task<long> ReviewsAsync(Guid imageId) =>
        ImageRows.ScalarAsync<long>(Cs, "SELECT count(*) FROM image_privacy_reviews WHERE image_id = @id", ("id", imageId));

    [Fact]
    public async Task Mouse_DrawsAndMovesABox_SavedAsThePersonsBoxes()
    {
        const string email = "privacy-mouse@example.test";
        var (vehicle, ids) = await SeedAsync(email);
        await browser.RunAsync(app.App.BaseAddress, "privacy-mouse", async page =>
        {
            await SignInAsync(page, email);
            await OpenGalleryAsync(page, vehicle);
            await Expect(page.Locator(".photo-card .unreviewed-mark")).ToHaveTextAsync("Unreviewed");
            await page.Locator($".photo-card[data-image-id='{ids[0]}'] .photo-open").ClickAsync();
            var stage = page.Locator(".privacy-editor[data-ready=true] .privacy-stage");
            await Expect(stage).ToBeVisibleAsync();
            await Expect(page.Locator(".privacy-box[data-source=local]")).ToHaveCountAsync(1);
            await Expect(page.Locator(".privacy-box[data-source=local] .privacy-box-label")).ToHaveTextAsync("Plate · detector");
            await Expect(page.Locator(".privacy-status")).ToContainTextAsync("Unreviewed");

            // Draw from 10 %, 10 % to 40 %, 30 % of the photo.
            var frame = await BrowserSteps.SettledBoxAsync(stage);
            float At(double fraction, float start, float size) => start + (float)(fraction * size);
            await page.Mouse.MoveAsync(At(0.10, frame.X, frame.Width), At(0.10, frame.Y, frame.Height));
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync(At(0.25, frame.X, frame.Width), At(0.20, frame.Y, frame.Height), new() { Steps = 5 });
            await page.Mouse.MoveAsync(At(0.40, frame.X, frame.Width), At(0.30, frame.Y, frame.Height), new() { Steps = 5 });
            await page.Mouse.UpAsync();
            var drawn = page.Locator(".privacy-box[data-source=user]");
            await Expect(drawn).ToHaveCountAsync(1);
            await Expect(drawn.Locator(".privacy-box-label")).ToHaveTextAsync("Plate · yours");
            await Expect(page.Locator(".privacy-status")).ToHaveTextAsync("Changed, not saved yet.");

            // Move it right by 10 % of the photo, from its middle.
            await page.Mouse.MoveAsync(At(0.25, frame.X, frame.Width), At(0.20, frame.Y, frame.Height));
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync(At(0.35, frame.X, frame.Width), At(0.20, frame.Y, frame.Height), new() { Steps = 5 });
            await page.Mouse.UpAsync();
            await Expect(drawn).ToHaveAttributeAsync("data-x", new System.Text.RegularExpressions.Regex("^0\\.(2|19\\d*|20\\d*|21\\d*)$"));

            await page.Locator("#privacy-save").ClickAsync();
            await Expect(page.Locator(".privacy-status")).ToHaveTextAsync("Saved: 2 boxes.");
            await Expect(page.Locator(".privacy-box[data-source=user]")).ToHaveCountAsync(2);

            var stored = await StoredAsync(ids[0]);
            Assert.Equal(2, stored.Count);
            Assert.All(stored, b => Assert.Equal(("plate", "user"), (b.Kind, b.Source)));
            var mine = stored[0];
            Assert.Equal(0.20, mine.X, 0.015);
            Assert.Equal(0.10, mine.Y, 0.015);
            Assert.Equal(0.30, mine.W, 0.015);
            Assert.Equal(0.20, mine.H, 0.015);
            Assert.Equal((0.39, 0.69, 0.24, 0.07), (stored[1].X, stored[1].Y, stored[1].W, stored[1].H)); // the accepted proposal
            Assert.Equal(1, await ReviewsAsync(ids[0]));

            // Closed, the gallery no longer calls it unreviewed.
            await page.Keyboard.PressAsync("Escape");
            await Expect(page.Locator(".photo-card .unreviewed-mark")).ToHaveCountAsync(0);
        });
    }

    [Fact]
    public async Task Finger_DrawsAFaceBox_SavedAsThePersons()
    {
        const string email = "privacy-finger@example.test";
        var (vehicle, ids) = await SeedAsync(email);
        await browser.RunAsync(app.App.BaseAddress, "privacy-finger", async page =>
        {
            await SignInAsync(page, email);
            await OpenGalleryAsync(page, vehicle);
            await page.Locator($".photo-card[data-image-id='{ids[0]}'] .photo-open").ClickAsync();
            var stage = page.Locator(".privacy-editor[data-ready=true] .privacy-stage");
            await Expect(stage).ToBeVisibleAsync();
            await page.Locator("#privacy-new-kind").SelectOptionAsync("face");

            // Chromium's own touch input (what a finger on a touch screen sends), through the DevTools protocol.
            var frame = await BrowserSteps.SettledBoxAsync(stage);
            var cdp = await page.Context.NewCDPSessionAsync(page);
            async Task TouchAsync(string type, double fx, double fy) => await cdp.SendAsync("Input.dispatchTouchEvent", new Dictionary<string, object>
            {
                ["type"] = type,
                ["touchPoints"] = type == "touchEnd" ? Array.Empty<object>() : new object[]
                {
                    new Dictionary<string, object> { ["x"] = frame.X + fx * frame.Width, ["y"] = frame.Y + fy * frame.Height },
                },
            });
            await TouchAsync("touchStart", 0.60, 0.10);
            for (var step = 1; step <= 5; step++)
                await TouchAsync("touchMove", 0.60 + step * 0.04, 0.10 + step * 0.04);
            await TouchAsync("touchEnd", 0.80, 0.30);

            var drawn = page.Locator(".privacy-box[data-source=user]");
            await Expect(drawn).ToHaveCountAsync(1);
            await Expect(drawn.Locator(".privacy-box-label")).ToHaveTextAsync("Face · yours");
            await page.Locator("#privacy-save").ClickAsync();
            await Expect(page.Locator(".privacy-status")).ToHaveTextAsync("Saved: 2 boxes.");

            var face = Assert.Single(await StoredAsync(ids[0]), b => b.Kind == "face");
            Assert.Equal("user", face.Source);
            Assert.Equal(0.60, face.X, 0.015);
            Assert.Equal(0.10, face.Y, 0.015);
            Assert.Equal(0.20, face.W, 0.015);
            Assert.Equal(0.20, face.H, 0.015);
        });
    }

    [Fact]
    public async Task Keyboard_AddsMovesAndResizesABox_DeletesTheProposal_Saves()
    {
        const string email = "privacy-keys@example.test";
        var (vehicle, ids) = await SeedAsync(email);
        await browser.RunAsync(app.App.BaseAddress, "privacy-keyboard", async page =>
        {
            await SignInAsync(page, email);
            await OpenGalleryAsync(page, vehicle);
            var open = page.Locator($".photo-card[data-image-id='{ids[0]}'] .photo-open");
            await KeyboardFocusAsync(page, open);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".privacy-editor[data-ready=true]")).ToBeVisibleAsync();

            // The proposed box: Tab reaches it, Delete removes it.
            var proposed = page.Locator(".privacy-box[data-source=local]");
            await TabToAsync(page, proposed);
            await Expect(proposed).ToHaveCSSAsync("outline-width", "3px"); // the focus is visible (1px unfocused)
            await Expect(proposed).ToHaveCSSAsync("outline-color", "rgb(255, 255, 255)");
            await page.Keyboard.PressAsync("Delete");
            await Expect(page.Locator(".privacy-box")).ToHaveCountAsync(0);

            // "Add box" places one in the middle and gives it the keyboard.
            await TabToAsync(page, page.Locator("#privacy-add-box"));
            await page.Keyboard.PressAsync("Enter");
            var added = page.Locator(".privacy-box[data-source=user]");
            await Expect(added).ToBeFocusedAsync();
            await Expect(added).ToHaveAttributeAsync("data-x", "0.4");
            for (var i = 0; i < 5; i++)
                await page.Keyboard.PressAsync("ArrowRight");
            await page.Keyboard.PressAsync("ArrowUp");
            await page.Keyboard.PressAsync("Shift+ArrowDown");
            await page.Keyboard.PressAsync("Shift+ArrowDown");
            await page.Keyboard.PressAsync("Shift+ArrowLeft");
            await Expect(added).ToHaveAttributeAsync("data-h", "0.12");
            await Expect(added).ToHaveAttributeAsync("data-x", "0.45");
            await Expect(added).ToBeFocusedAsync();
            await Expect(page.Locator(".photo-viewer")).ToHaveCountAsync(1); // the arrows did not leave the photo

            await TabToAsync(page, page.Locator("#privacy-save"));
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".privacy-status")).ToHaveTextAsync("Saved: 1 box.");

            var stored = Assert.Single(await StoredAsync(ids[0]));
            Assert.Equal(("plate", "user"), (stored.Kind, stored.Source));
            Assert.Equal(0.45, stored.X, 0.0001);
            Assert.Equal(0.44, stored.Y, 0.0001);
            Assert.Equal(0.19, stored.W, 0.0001);
            Assert.Equal(0.12, stored.H, 0.0001);
            Assert.Equal(1, await ReviewsAsync(ids[0]));
        });
    }

    [Fact]
    public async Task ReviewView_StepsThroughTheUnreviewedPhotos_AcceptNoneVisibleAndAccept_FromTheKeyboard()
    {
        const string email = "privacy-review@example.test";
        var (vehicle, ids) = await SeedAsync(email, photos: 3);
        await browser.RunAsync(app.App.BaseAddress, "privacy-review", async page =>
        {
            await SignInAsync(page, email);
            await OpenGalleryAsync(page, vehicle);
            await Expect(page.Locator(".photo-card .unreviewed-mark")).ToHaveCountAsync(3);
            await page.Locator("#open-privacy-review").ClickAsync();
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Review plates and faces");
            await Expect(page.Locator(".privacy-editor[data-ready=true]")).ToBeVisibleAsync();
            var position = page.Locator("#review-position");
            await Expect(position).ToContainTextAsync("Photo 1 of 3 to review");

            // Accept what is proposed (the plate box on one photo, nothing on the others): Enter on "Accept boxes".
            var accept = page.Locator("#privacy-save");
            await Expect(accept).ToHaveTextAsync("Accept boxes");
            await TabToAsync(page, accept);
            await page.Keyboard.PressAsync("Enter");
            await Expect(position).ToContainTextAsync("Photo 1 of 2 to review");
            await Expect(accept).ToBeFocusedAsync(); // the keyboard stays where it was: Enter again accepts the next

            await TabToAsync(page, page.Locator("#privacy-none-visible"));
            await page.Keyboard.PressAsync("Enter");
            await Expect(position).ToContainTextAsync("Photo 1 of 1 to review");

            await TabToAsync(page, accept);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("#review-done")).ToContainTextAsync("you reviewed 3 photos");

            Assert.Equal(3, await ImageRows.ScalarAsync<long>(Cs, "SELECT count(*) FROM image_privacy_reviews WHERE image_id = ANY(@ids)", ("ids", ids)));
            Assert.Equal(1, await ImageRows.ScalarAsync<long>(Cs, "SELECT count(*) FROM image_privacy_reviews WHERE image_id = ANY(@ids) AND none_visible", ("ids", ids)));
            // The proposal on the first photo was accepted as the person's box, unless "none visible" cleared it.
            var accepted = await StoredAsync(ids[0]);
            var noneVisibleOnFirst = await ImageRows.ScalarAsync<bool>(Cs, "SELECT none_visible FROM image_privacy_reviews WHERE image_id = @id", ("id", ids[0]));
            Assert.Equal(noneVisibleOnFirst ? 0 : 1, accepted.Count);
            Assert.All(accepted, b => Assert.Equal(("plate", "user", 0.39), (b.Kind, b.Source, b.X)));

            await page.Locator("#back-to-gallery").ClickAsync();
            await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
            await Expect(page.Locator(".photo-card")).ToHaveCountAsync(3);
            await Expect(page.Locator(".photo-card .unreviewed-mark")).ToHaveCountAsync(0);
            await Expect(page.Locator("#open-privacy-review")).ToContainTextAsync("0 unreviewed");
        });
    }

    [Theory]
    [MemberData(nameof(Themes))]
    public async Task Axe_GalleryMarks_HidingSwitch_ExportWarning_Editor_ReviewView_HaveNoViolations(ColorScheme theme)
    {
        var mode = theme == ColorScheme.Dark ? "dark" : "light";
        var email = $"privacy-a11y-{mode}@example.test";
        var (vehicle, ids) = await SeedAsync(email, photos: 2);
        await browser.RunAsync(app.App.BaseAddress, $"privacy-a11y-{mode}", async page =>
        {
            await SignInAsync(page, email);
            await OpenGalleryAsync(page, vehicle);
            await Expect(page.Locator($".mud-layout[data-theme={mode}]")).ToBeAttachedAsync();
            await Expect(page.Locator(".photo-card .unreviewed-mark")).ToHaveCountAsync(2);
            await Expect(page.Locator("#export-unreviewed")).ToHaveTextAsync("2 photos of this set not yet reviewed for plates and faces");
            await Accessibility.AssertNoViolationsAsync(page, $"gallery with unreviewed photos ({mode})");

            // Turning the hiding off asks first, and is recorded.
            await page.GetByText("Hide plates and faces in what I share or export").ClickAsync();
            var stop = page.Locator(".mud-dialog", new() { HasText = "Stop hiding plates and faces?" });
            await Expect(stop).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"the confirmation to stop hiding ({mode})");
            await stop.GetByRole(AriaRole.Button, new() { Name = "Stop hiding" }).ClickAsync();
            await Expect(page.Locator("#privacy-hiding-off")).ToBeVisibleAsync();
            Assert.False(await ImageRows.ScalarAsync<bool>(Cs, "SELECT hide_privacy_boxes FROM vehicles WHERE id = @id", ("id", vehicle)));
            Assert.True(await ImageRows.ScalarAsync<bool>(Cs, "SELECT privacy_hiding_off_at IS NOT NULL FROM vehicles WHERE id = @id", ("id", vehicle)));
            await Accessibility.AssertNoViolationsAsync(page, $"gallery with hiding off ({mode})");

            // The export counts the unreviewed photos and asks.
            await page.Locator("#export-download").ClickAsync();
            var warning = page.Locator(".mud-dialog", new() { HasText = "Export photos nobody reviewed?" });
            await Expect(warning).ToContainTextAsync("2 photos have not been reviewed");
            await Accessibility.AssertNoViolationsAsync(page, $"the export warning ({mode})");
            await warning.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
            await Expect(warning).ToHaveCountAsync(0);

            // The editor in the photo's detail, with a proposed box and a drawn one.
            await page.Locator($".photo-card[data-image-id='{ids[0]}'] .photo-open").ClickAsync();
            await Expect(page.Locator(".privacy-editor[data-ready=true]")).ToBeVisibleAsync();
            await page.Locator("#privacy-add-box").ClickAsync();
            await Expect(page.Locator(".privacy-box")).ToHaveCountAsync(2);
            await Accessibility.AssertNoViolationsAsync(page, $"the box editor ({mode})");
            await page.Keyboard.PressAsync("Escape");
            await Expect(page.Locator(".photo-viewer")).ToHaveCountAsync(0);

            await page.GotoAsync($"vehicles/{vehicle}/privacy-review");
            await Expect(page.Locator(".privacy-editor[data-ready=true]")).ToBeVisibleAsync();
            await Expect(page.Locator("#review-position")).ToContainTextAsync("Photo 1 of 2 to review");
            await Accessibility.AssertNoViolationsAsync(page, $"the review view ({mode})");
        }, theme);
    }

    /// <summary>Focuses <paramref name="target"/> with Tab alone, as a keyboard user would reach it.</summary>
    private static async Task TabToAsync(IPage page, ILocator target)
    {
        for (var i = 0; i < 40; i++)
        {
            if (await target.EvaluateAsync<bool>("e => e === document.activeElement"))
                return;
            await page.Keyboard.PressAsync("Tab");
        }
        await Expect(target).ToBeFocusedAsync();
    }

    private static async Task KeyboardFocusAsync(IPage page, ILocator target)
    {
        await target.FocusAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await page.Keyboard.PressAsync("Tab");
        await Expect(target).ToBeFocusedAsync();
    }
}
