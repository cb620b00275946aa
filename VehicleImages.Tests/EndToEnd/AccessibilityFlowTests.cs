using Microsoft.Playwright;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// An instance with workers and one admin whose vehicle has a photo in each status a person sees: analysed,
/// processing and failed (issue 30). Seeded once for the class, through the API and, for the two statuses
/// the Local analyzer never leaves a photo in, by SQL.
/// </summary>
public sealed class AccessibilityAppFixture : AppFixture
{
    public const string Email = "a11y-admin@example.test";

    private readonly Lock _gate = new();
    private Task<SeededVehicle>? _seeded;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public Task<SeededVehicle> SeededAsync()
    {
        lock (_gate)
            return _seeded ??= SeedAsync();
    }

    private async Task<SeededVehicle> SeedAsync()
    {
        using var client = await App.CreateUserClientAsync(Email); // the first account: an admin
        var vehicle = await UploadTests.CreateVehicleAsync(client, "Defender");
        var created = await UploadTests.UploadAsync(client, vehicle,
            ("Canon_40D.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"))),
            ("DSCN0010.jpg", File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"))),
            ("Landscape_1.jpg", File.ReadAllBytes(TestData.Image("exif-orientation-examples__Landscape_1.jpg"))));
        var ids = created.Select(c => c.ImageId!.Value).ToArray();
        var cs = App.ConnectionString;
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == 3,
            "the three analyses");
        await ImageRows.ScalarAsync<int>(cs, """
            WITH failed AS (UPDATE vehicle_images SET processing_status = 'failed', processing_error = 'The provider could not read this photo.' WHERE id = @id RETURNING 1)
            SELECT count(*)::int FROM failed
            """, ("id", ids[1]));
        await ImageRows.ScalarAsync<int>(cs,
            "WITH p AS (UPDATE vehicle_images SET processing_status = 'processing' WHERE id = @id RETURNING 1) SELECT count(*)::int FROM p", ("id", ids[2]));
        return new SeededVehicle(vehicle, ids[0], ids[1], ids[2]);
    }
}

public sealed record SeededVehicle(Guid VehicleId, Guid Analysed, Guid Failed, Guid Processing);

/// <summary>Every page, in light and dark theme, passes axe-core's WCAG 2.1 A and AA rules (issue 30).</summary>
public sealed class AccessibilityFlowTests(AccessibilityAppFixture app, BrowserFixture browser)
    : IClassFixture<AccessibilityAppFixture>, IClassFixture<BrowserFixture>
{
    public static TheoryData<ColorScheme> Themes => [ColorScheme.Light, ColorScheme.Dark];

    [Theory]
    [MemberData(nameof(Themes))]
    public async Task Axe_SignInAndRegister_HaveNoViolations(ColorScheme theme)
    {
        await app.SeededAsync(); // registration stays open for later accounts, so the form is the one people meet
        await browser.RunAsync(app.App.BaseAddress, $"a11y-account-{theme}", async page =>
        {
            await page.GotoAsync("account/login");
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Sign in");
            // A static page follows the device's setting through CSS alone.
            await Expect(page.Locator("body")).ToHaveCSSAsync("background-color", theme == ColorScheme.Dark ? "rgb(50, 51, 61)" : "rgb(255, 255, 255)");
            await Accessibility.AssertNoViolationsAsync(page, $"sign-in ({theme})");

            await page.Locator("#email").FillAsync(AccessibilityAppFixture.Email);
            await page.Locator("#password").FillAsync("wrong-password1");
            await page.Locator("#sign-in").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong email or password.");
            await Accessibility.AssertNoViolationsAsync(page, $"sign-in with its error ({theme})");

            await page.GotoAsync("account/register");
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Create an account");
            await Accessibility.AssertNoViolationsAsync(page, $"register ({theme})");
        }, theme);
    }

    [Theory]
    [MemberData(nameof(Themes))]
    public async Task Axe_EverySignedInPageWithPhotosInEachStatus_HasNoViolations(ColorScheme theme)
    {
        var seeded = await app.SeededAsync();
        var mode = theme == ColorScheme.Dark ? "dark" : "light";
        await browser.RunAsync(app.App.BaseAddress, $"a11y-pages-{mode}", async page =>
        {
            await page.GotoAsync("account/login");
            await page.Locator("#email").FillAsync(AccessibilityAppFixture.Email);
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#sign-in").ClickAsync();

            // Each page is checked live (the circuit has read the theme), as a person meets it.
            async Task OpenAsync(string url)
            {
                await page.GotoAsync(url);
                await Expect(page.Locator($".mud-layout[data-theme={mode}]")).ToBeAttachedAsync();
            }

            await OpenAsync("");
            await Expect(page.Locator(".vehicle-card")).ToHaveCountAsync(1);
            await Accessibility.AssertNoViolationsAsync(page, $"home ({mode})");

            await OpenAsync($"vehicles/{seeded.VehicleId}");
            await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
            await Expect(page.Locator(".status-badge[data-status=complete]")).ToHaveCountAsync(1);
            await Expect(page.Locator(".status-badge[data-status=failed]")).ToHaveCountAsync(1);
            await Expect(page.Locator(".status-badge[data-status=processing]")).ToHaveCountAsync(1);
            await Accessibility.AssertNoViolationsAsync(page, $"gallery with analysed, processing and failed photos ({mode})");

            await page.Locator($".photo-card[data-image-id='{seeded.Analysed}'] .photo-open").ClickAsync();
            await Expect(page.Locator("#exif-table")).ToBeVisibleAsync();
            await Expect(page.Locator("#analysis-table")).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"photo detail ({mode})");
            await page.Locator("#delete-photo").ClickAsync();
            var confirm = page.Locator(".mud-dialog", new() { HasText = "cannot be undone" });
            await Expect(confirm).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"the delete confirmation ({mode})");
            await confirm.GetByRole(AriaRole.Button, new() { Name = "Keep" }).ClickAsync();
            await Expect(confirm).ToHaveCountAsync(0);
            await page.Keyboard.PressAsync("Escape");
            await Expect(page.Locator("#exif-table")).ToHaveCountAsync(0);

            await page.Locator($".photo-card[data-image-id='{seeded.Failed}'] .photo-open").ClickAsync();
            await Expect(page.Locator(".photo-viewer .status-badge")).ToHaveTextAsync("Failed");
            await Accessibility.AssertNoViolationsAsync(page, $"a failed photo's detail ({mode})");
            await page.Keyboard.PressAsync("Escape");
            await Expect(page.Locator(".photo-viewer")).ToHaveCountAsync(0);

            // The uploader with a file it refused (its row says why).
            await page.Locator("#file-input").SetInputFilesAsync(TestData.BadFile("truncated_libvips.jpg"));
            await Expect(page.Locator(".upload-row[data-outcome=rejected]")).ToContainTextAsync("truncated");
            await Accessibility.AssertNoViolationsAsync(page, $"gallery with a refused upload ({mode})");

            // The listing, with its photos, tray and missing shots.
            await OpenAsync($"vehicles/{seeded.VehicleId}/listing");
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Listing");
            await Expect(page.Locator(".listing-item")).Not.ToHaveCountAsync(0);
            await Expect(page.Locator(".tray-item")).Not.ToHaveCountAsync(0); // the failed and processing photos
            await Expect(page.Locator("#rebuild")).ToBeEnabledAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"listing ({mode})");

            await OpenAsync($"vehicles/{seeded.VehicleId}/categorizer");
            await Expect(page.Locator(".categorizer-photo")).ToHaveCountAsync(3);
            await Accessibility.AssertNoViolationsAsync(page, $"categorizer ({mode})");

            await OpenAsync("admin/processing");
            await Expect(page.Locator("#page-title")).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"admin ({mode})");
            await page.Locator("#pause-toggle").PressAsync("Enter");
            await Expect(page.Locator("#paused-chip")).ToBeVisibleAsync();
            // With the "Processing paused" toast: opaque, and measured with its fade stopped.
            await Accessibility.AssertNoViolationsAsync(page, $"admin, processing paused ({mode})");
            await page.Locator("#pause-toggle").PressAsync("Enter");
            await Expect(page.Locator("#paused-chip")).ToHaveCountAsync(0);

            await OpenAsync("admin/jobs");
            await Expect(page.Locator("#jobs-table tbody tr")).ToHaveCountAsync(3);
            await Accessibility.AssertNoViolationsAsync(page, $"job explorer ({mode})");

            await page.Locator("#jobs-table tbody tr a").First.ClickAsync();
            await Expect(page.Locator("#job-status")).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"job detail ({mode})");

            await OpenAsync("account");
            await Expect(page.Locator("#usage")).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, $"account ({mode})");
        }, theme);
    }

    [Fact]
    public async Task Keyboard_SignInOpenStepThroughAndCloseAPhotoThenMoveIt_NeedsNoMouse()
    {
        var seeded = await app.SeededAsync();
        await browser.RunAsync(app.App.BaseAddress, "a11y-keyboard", async page =>
        {
            await page.GotoAsync("account/login");
            await Expect(page.Locator("#email")).ToBeFocusedAsync(); // autofocus
            await page.Keyboard.TypeAsync(AccessibilityAppFixture.Email);
            await page.Keyboard.PressAsync("Tab");
            await page.Keyboard.TypeAsync("Passw0rd!");
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".vehicle-card")).ToHaveCountAsync(1);

            await page.GotoAsync($"vehicles/{seeded.VehicleId}");
            await Expect(page.Locator(".mud-layout[data-theme=light]")).ToBeAttachedAsync();
            await Expect(page.Locator(".photo-card")).ToHaveCountAsync(3);
            var first = page.Locator(".photo-open").First;
            await KeyboardFocusAsync(page, first);
            await Expect(first).ToHaveCSSAsync("outline-style", "solid"); // the focus is visible
            await Expect(first).ToHaveAccessibleNameAsync(new System.Text.RegularExpressions.Regex(", (analyzed|processing|failed)$"));

            await page.Keyboard.PressAsync("Enter");
            var viewer = page.Locator(".photo-viewer");
            await Expect(page.Locator("#photo-position")).ToHaveTextAsync("1 of 3");
            await Expect(page.Locator(".mud-dialog:focus-within")).ToHaveCountAsync(1); // the dialog took the focus
            var firstName = await page.Locator(".detail-name").TextContentAsync();
            await page.Keyboard.PressAsync("ArrowRight");
            await Expect(page.Locator("#photo-position")).ToHaveTextAsync("2 of 3");
            await Expect(page.Locator(".detail-name")).Not.ToHaveTextAsync(firstName!);
            await page.Keyboard.PressAsync("ArrowLeft");
            await Expect(page.Locator("#photo-position")).ToHaveTextAsync("1 of 3");
            await Expect(page.Locator(".detail-name")).ToHaveTextAsync(firstName!);
            await page.Keyboard.PressAsync("Escape");
            await Expect(viewer).ToHaveCountAsync(0);
            await Expect(first).ToBeFocusedAsync(); // the focus is given back to the photo

            // The categorizer: select a photo with Space, choose the shot in the two lists, Move, all from the keyboard.
            await page.GotoAsync($"vehicles/{seeded.VehicleId}/categorizer");
            await Expect(page.Locator(".mud-layout[data-theme=light]")).ToBeAttachedAsync();
            var photo = page.Locator($".categorizer-photo[data-image-id='{seeded.Analysed}']");
            var box = photo.Locator("input[type=checkbox]");
            await KeyboardFocusAsync(page, box);
            await page.Keyboard.PressAsync("Space");
            await Expect(box).ToBeCheckedAsync();
            await Expect(page.Locator("#move-bar")).ToContainTextAsync("1 selected");

            var category = page.Locator("#move-category");
            await KeyboardFocusAsync(page, category);
            await Expect(category).ToHaveCSSAsync("outline-style", "solid");
            // A closed list steps through its choices; each step waits until the page has offered that category's angles.
            var angle = page.Locator("#move-angle");
            await page.Keyboard.PressAsync("ArrowDown");
            await Expect(category).ToHaveValueAsync("exterior");
            await Expect(angle.Locator("option[value=front_3q_left]")).ToBeAttachedAsync();
            await page.Keyboard.PressAsync("ArrowDown");
            await Expect(category).ToHaveValueAsync("interior");
            await Expect(angle.Locator("option[value=dashboard]")).ToBeAttachedAsync();
            await Expect(angle).ToBeEnabledAsync();
            await page.Keyboard.PressAsync("Tab");
            await Expect(angle).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("ArrowDown");
            await Expect(angle).ToHaveValueAsync("dashboard");
            await page.ScreenshotAsync(new() { Path = Path.Combine(RepoPaths.Artifacts, "a11y-keyboard-category.png"), FullPage = true });
            await page.Keyboard.PressAsync("Tab");
            await Expect(page.Locator("#move-apply")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator($"[data-group='interior.dashboard'] .categorizer-photo[data-image-id='{seeded.Analysed}']")).ToHaveCountAsync(1);
            await Expect(page.Locator(".mud-snackbar")).ToContainTextAsync("Moved 1 photo(s)");

            // The app bar's theme button, from the keyboard too.
            var themeButton = page.GetByRole(AriaRole.Button, new() { Name = "Light or dark theme" });
            await KeyboardFocusAsync(page, themeButton);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".mud-layout[data-theme=dark]")).ToBeAttachedAsync();
        });
    }

    [Fact]
    public async Task Keyboard_DialogsKeepTheFocusInside_EscapeClosesThem_TheFocusGoesBackToTheOpener()
    {
        var seeded = await app.SeededAsync();
        await browser.RunAsync(app.App.BaseAddress, "a11y-dialog-focus", async page =>
        {
            await page.GotoAsync("account/login");
            await page.Locator("#email").FillAsync(AccessibilityAppFixture.Email);
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#sign-in").PressAsync("Enter");
            await Expect(page.Locator(".vehicle-card")).ToHaveCountAsync(1);

            // New vehicle: the focus starts on the name field, Tab and Shift+Tab go round the dialog's controls only.
            var opener = page.Locator("#new-vehicle");
            await Expect(opener).ToBeEnabledAsync();
            await KeyboardFocusAsync(page, opener);
            await page.Keyboard.PressAsync("Enter");
            var dialog = page.Locator(".mud-dialog", new() { HasText = "New vehicle" });
            await Expect(dialog).ToBeVisibleAsync();
            await Expect(page.Locator("#vehicle-name")).ToBeFocusedAsync();
            // The form opens without an error: the field was not left before the person typed.
            await Expect(page.Locator("#vehicle-name")).ToHaveAttributeAsync("aria-invalid", "false");
            var forward = await TabRoundAsync(page, "Tab", "New vehicle");
            var backward = await TabRoundAsync(page, "Shift+Tab", "New vehicle");
            // Round the same controls both ways: the name, make, model and year fields and the two buttons at least.
            Assert.True(forward.Count >= 6, $"Tab went round {forward.Count} controls: {string.Join(" | ", forward)}");
            Assert.Equal(forward.Order(), backward.Order());
            await page.Keyboard.PressAsync("Escape");
            await Expect(dialog).ToHaveCountAsync(0);
            await Expect(opener).ToBeFocusedAsync();
            Assert.Equal(1L, await ImageRows.ScalarAsync<long>(app.App.ConnectionString, "SELECT count(*) FROM vehicles"));

            // A dialog over a dialog: the photo viewer, and its delete confirmation on top.
            await page.GotoAsync($"vehicles/{seeded.VehicleId}");
            await Expect(page.Locator(".mud-layout[data-theme=light]")).ToBeAttachedAsync(); // the live page
            await Expect(page.Locator(".photo-card")).ToHaveCountAsync(3);
            var photo = page.Locator($".photo-card[data-image-id='{seeded.Analysed}'] .photo-open");
            await KeyboardFocusAsync(page, photo);
            await page.Keyboard.PressAsync("Enter");
            var viewer = page.Locator(".mud-dialog", new() { Has = page.Locator(".photo-viewer") });
            await Expect(viewer.Locator("#exif-table")).ToBeVisibleAsync();
            await Expect(page.Locator(".mud-dialog:focus-within")).ToHaveCountAsync(1);
            var delete = page.Locator("#delete-photo");
            await KeyboardOnlyFlowTests.TabToAsync(page, delete, most: 40);
            await page.Keyboard.PressAsync("Enter");
            var confirm = page.Locator(".mud-dialog", new() { HasText = "cannot be undone" });
            await Expect(confirm).ToBeVisibleAsync();
            // The focus starts on the safe choice; Tab goes round the confirmation, never back to the viewer under it.
            await Expect(confirm.GetByRole(AriaRole.Button, new() { Name = "Keep" })).ToBeFocusedAsync();
            var inConfirm = await TabRoundAsync(page, "Tab", "cannot be undone");
            Assert.Equal(2, inConfirm.Count); // Keep and Delete
            await page.Keyboard.PressAsync("Escape");
            await Expect(confirm).ToHaveCountAsync(0);
            await Expect(delete).ToBeFocusedAsync();
            Assert.Equal(1L, await ImageRows.ScalarAsync<long>(app.App.ConnectionString,
                "SELECT count(*) FROM vehicle_images WHERE id = @id", ("id", seeded.Analysed)));
            await page.Keyboard.PressAsync("Escape");
            await Expect(viewer).ToHaveCountAsync(0);
            await Expect(photo).ToBeFocusedAsync();
        });
    }

    /// <summary>
    /// Presses <paramref name="key"/> until the focus is back where it started (at most 30 times), checking after each
    /// press that the focus is inside the dialog that says <paramref name="dialogText"/>: the controls visited, as their tag, id or name.
    /// </summary>
    private static async Task<List<string>> TabRoundAsync(IPage page, string key, string dialogText)
    {
        const string describe = "() => { const e = document.activeElement; return e ? `${e.tagName}#${e.id}:${e.getAttribute('aria-label') ?? e.textContent?.trim().slice(0, 20) ?? ''}` : 'none'; }";
        var start = await page.EvaluateAsync<string>(describe);
        var visited = new List<string> { start };
        for (var i = 0; i < 30; i++)
        {
            await page.Keyboard.PressAsync(key);
            // Tab past the last control lands on the trap's edge, which hands the focus on to the other end (a round
            // trip to the server): wait for the control it lands on.
            await page.WaitForFunctionAsync("() => !document.activeElement?.parentElement?.classList.contains('mud-focus-trap')");
            var within = await page.EvaluateAsync<bool>("t => document.activeElement?.closest('.mud-dialog')?.textContent.includes(t) === true", dialogText);
            var at = await page.EvaluateAsync<string>(describe);
            Assert.True(within, $"{key} took the focus out of the dialog, to {at}, after {string.Join(" | ", visited)}");
            if (at == start)
                return visited;
            visited.Add(at);
        }
        Assert.Fail($"{key} never came back to {start}: {string.Join(" | ", visited)}");
        return visited;
    }

    /// <summary>Puts the keyboard's focus on <paramref name="target"/> as Tab does (so :focus-visible applies): from the element before it.</summary>
    private static async Task KeyboardFocusAsync(IPage page, ILocator target)
    {
        await target.FocusAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await page.Keyboard.PressAsync("Tab");
        await Expect(target).ToBeFocusedAsync();
    }
}
