using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// Issue 30's keyboard-only flow, analysed by the fake provider: a person who never touches the mouse registers,
/// creates a vehicle, uploads photos through the drop zone (a button), retries the photo whose analysis failed,
/// and reorders the listing. On the way, the gallery with its toasts showing passes axe in both themes.
/// </summary>
[Collection(nameof(PointerFlows))]
public sealed class KeyboardOnlyFlowTests(FakeProviderAppFixture app, BrowserFixture browser)
    : IClassFixture<FakeProviderAppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Keyboard_UploadRetryAFailedPhotoAndReorderTheListing_NeedsNoMouse() =>
        browser.RunAsync(app.App.BaseAddress, "keyboard-only", async page =>
        {
            app.Fake.Script = (_, _) => FakeMode.Ok;
            await page.GotoAsync("account/register");
            await Expect(page.Locator("#email")).ToBeFocusedAsync(); // autofocus
            await page.Keyboard.TypeAsync("keys@example.test");
            await page.Keyboard.PressAsync("Tab");
            await page.Keyboard.TypeAsync("Passw0rd!");
            await page.Keyboard.PressAsync("Tab");
            await page.Keyboard.TypeAsync("Passw0rd!");
            await page.Keyboard.PressAsync("Enter");

            // A vehicle: the New vehicle dialog takes the focus on its name; Enter submits it.
            var newVehicle = page.Locator("#new-vehicle");
            await Expect(newVehicle).ToBeEnabledAsync();
            await TabToAsync(page, newVehicle);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("#vehicle-name")).ToBeFocusedAsync();
            await page.Keyboard.TypeAsync("Keyboard car");
            await page.Keyboard.PressAsync("Enter");
            var open = page.GetByRole(AriaRole.Link, new() { Name = "Open gallery (0)" });
            await TabToAsync(page, open);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();

            // The drop zone is a button: Enter opens the file chooser.
            var zone = page.Locator("#drop-zone");
            await Expect(zone).ToHaveAttributeAsync("role", "button");
            await page.BringToFrontAsync(); // a file chooser opens only from the focused page
            var chooser = await BrowserSteps.ChooseFilesWithEnterAsync(page, async () =>
            {
                await TabToAsync(page, zone);
                await Expect(zone).ToHaveCSSAsync("outline-style", "solid"); // the focus is visible
            });
            await chooser.SetFilesAsync(new[]
            {
                TestData.Image("exif-samples__Canon_40D.jpg"),
                TestData.Image("exif-samples__Kodak_CX7530.jpg"),
            });
            await Expect(page.Locator(".photo-card .status-badge[data-status=complete]")).ToHaveCountAsync(2, new() { Timeout = 30_000 });

            // The provider refuses the third: Failed, with its reason, a Retry on the card and a toast that waits for the person.
            app.Fake.Script = (_, _) => FakeMode.Unauthorized;
            chooser = await BrowserSteps.ChooseFilesWithEnterAsync(page, () => TabToAsync(page, zone));
            await chooser.SetFilesAsync(TestData.Image("exif-samples__DSCN0010.jpg"));
            var failed = page.Locator(".photo-card", new() { Has = page.Locator(".status-badge[data-status=failed]") });
            await Expect(failed).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            var toast = page.Locator(".mud-snackbar", new() { HasText = "DSCN0010.jpg failed" });
            await Expect(toast).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, "the gallery with a failure's toast (light)");
            // The same toast in the dark theme (the app bar's button, from the keyboard).
            await TabToAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Light or dark theme" }));
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".mud-layout[data-theme=dark]")).ToBeAttachedAsync();
            await Expect(toast).ToBeVisibleAsync();
            await Accessibility.AssertNoViolationsAsync(page, "the gallery with a failure's toast (dark)");

            // Retry from the card, with the keyboard: analysed this time.
            app.Fake.Script = (_, _) => FakeMode.Ok;
            await TabToAsync(page, failed.Locator(".retry-button"));
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator(".photo-card .status-badge[data-status=complete]")).ToHaveCountAsync(3, new() { Timeout = 30_000 });

            // The listing: the last photo to first place with its Move up button, Enter twice (the focus stays on it).
            await TabToAsync(page, page.Locator("#open-listing"));
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Listing");
            var items = page.Locator(".listing-item");
            await Expect(items).ToHaveCountAsync(3);
            var up = items.Nth(2).GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Move .* up$") });
            await Expect(up).ToBeEnabledAsync();
            var moved = await items.Nth(2).GetAttributeAsync("data-image-id");
            await TabToAsync(page, up);
            await page.Keyboard.PressAsync("Enter");
            await Expect(items.Nth(1)).ToHaveAttributeAsync("data-image-id", moved!);
            // The label says the photo's place when two have the same shot: the focus stays on the moved photo's button.
            var upNow = items.Nth(1).GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Move .* up$") });
            await Expect(upNow).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(items.Nth(0)).ToHaveAttributeAsync("data-image-id", moved!);
            await Expect(items.Nth(0)).ToHaveAttributeAsync("data-cover", "true");
            await Expect(page.Locator("#listing-mode")).ToHaveAttributeAsync("data-mode", "manual");
            var stored = await ImageRows.ScalarAsync<Guid[]>(app.App.ConnectionString,
                "SELECT l.image_ids FROM vehicle_listings l JOIN vehicles v ON v.id = l.vehicle_id WHERE v.name = 'Keyboard car'");
            Assert.Equal(Guid.Parse(moved!), stored[0]);
        });

    /// <summary>
    /// Presses Tab until <paramref name="target"/> has the focus (as a person tabs through the page), failing with
    /// where the focus went when it never gets there.
    /// </summary>
    internal static async Task TabToAsync(IPage page, ILocator target, int most = 150)
    {
        await Expect(target).ToBeVisibleAsync();
        for (var i = 0; i < most; i++)
        {
            if (await target.EvaluateAsync<bool>("e => e === document.activeElement"))
                return;
            await page.Keyboard.PressAsync("Tab");
        }
        var at = await page.EvaluateAsync<string>("() => document.activeElement?.outerHTML?.slice(0, 160) ?? 'nothing'");
        Assert.Fail($"{most} presses of Tab never reached {target}; the focus is on {at}");
    }
}
