using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// The listing reordered by dragging with the mouse (SortableJS): by the photo and by the grip, the order stored and the
/// cover following, and a stale drop refused with the current order shown. A class of its own, with an app and a browser of
/// its own.
/// </summary>
[Collection(nameof(PointerFlows))]
public sealed class ListingDragFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_DragsAPhotoToFirstPlaceWithTheMouse_TheOrderIsStoredAndTheCoverFollows() =>
        browser.RunAsync(app.App.BaseAddress, "listing-drag", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "drag@example.test");
            await BrowserSteps.CreateVehicleAndOpenGalleryAsync(page, "Land Cruiser");
            var vehicleId = Guid.Parse(new Uri(page.Url).Segments[^1]);
            var (cover, rear, dash) = await ListingFlowTests.PhotosAsync(app.App, vehicleId,
                ("exterior.front_3q_left", 9, "complete"), ("exterior.rear", 8, "complete"), ("interior.dashboard", 7, "complete")) switch
            { var ids => (ids[0], ids[1], ids[2]) };

            await page.GotoAsync($"vehicles/{vehicleId}/listing");
            await page.BringToFrontAsync(); // the focused page: a drag needs its pointer events and animation frames
            var items = page.Locator(".listing-item");
            // The live page, with its drag-and-drop attached (the prerendered list does not move; the buttons work a moment sooner).
            await Expect(page.Locator("#listing-items[data-sortable=ready]")).ToBeAttachedAsync();
            await ListingFlowTests.ExpectOrderAsync(items, cover, rear, dash);
            await Expect(page.Locator("#listing-mode")).ToHaveAttributeAsync("data-mode", "auto");

            // The dashboard, last, dragged by its photo onto the first place.
            await ListingFlowTests.DragAsync(page, items.Nth(2).Locator("img"), items.Nth(0));
            await ListingFlowTests.ExpectOrderAsync(items, dash, cover, rear);
            await Expect(page.Locator("#listing-status")).ToHaveTextAsync("Moved Interior, dashboard to place 1: it is the cover.");
            await Expect(page.Locator("#listing-mode")).ToHaveAttributeAsync("data-mode", "manual");
            await Expect(items.First).ToHaveAttributeAsync("data-cover", "true");

            // Stored: the order and the vehicle's primary photo.
            Assert.Equal([dash, cover, rear], await ImageRows.ScalarAsync<Guid[]>(app.App.ConnectionString,
                "SELECT image_ids FROM vehicle_listings WHERE vehicle_id = @v", ("v", vehicleId)));
            Assert.Equal(dash, await ImageRows.ScalarAsync<Guid>(app.App.ConnectionString,
                "SELECT id FROM vehicle_images WHERE vehicle_id = @v AND is_primary", ("v", vehicleId)));

            // By the grip this time: the front three-quarter, now second, back to first place.
            await ListingFlowTests.DragAsync(page, items.Nth(1).Locator(".listing-grip"), items.Nth(0));
            await ListingFlowTests.ExpectOrderAsync(items, cover, dash, rear);
            await page.ReloadAsync();
            await Expect(page.Locator("#listing-items[data-sortable=ready]")).ToBeAttachedAsync();
            await ListingFlowTests.ExpectOrderAsync(items, cover, dash, rear);
            Assert.Equal([cover, dash, rear], await ImageRows.ScalarAsync<Guid[]>(app.App.ConnectionString,
                "SELECT image_ids FROM vehicle_listings WHERE vehicle_id = @v", ("v", vehicleId)));

            // A stale drop: another tab moves the rear up; this tab, still showing the old order, drags the rear first.
            // Refused (the listing's version moved on), and this tab shows the order as it now stands.
            var other = await page.Context.NewPageAsync();
            await other.GotoAsync($"vehicles/{vehicleId}/listing");
            var up = other.GetByRole(AriaRole.Button, new() { Name = "Move Rear up", Exact = true });
            await Expect(up).ToBeEnabledAsync();
            await up.ClickAsync();
            await ListingFlowTests.ExpectOrderAsync(other.Locator(".listing-item"), cover, rear, dash);
            await page.BringToFrontAsync();
            await ListingFlowTests.DragAsync(page, items.Nth(2).Locator(".listing-grip"), items.Nth(0));
            await Expect(page.Locator("#listing-status")).ToContainTextAsync("changed elsewhere");
            await ListingFlowTests.ExpectOrderAsync(items, cover, rear, dash);
            Assert.Equal([cover, rear, dash], await ImageRows.ScalarAsync<Guid[]>(app.App.ConnectionString,
                "SELECT image_ids FROM vehicle_listings WHERE vehicle_id = @v", ("v", vehicleId)));
        });
}
