using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// The listing reordered by dragging with the mouse (SortableJS): by the photo and by the grip, the order stored and the
/// cover following. A class of its own, with an app and a browser of its own (a stale drop's refusal is the same save as
/// the buttons', tested in <see cref="ListingFlowTests"/> and the API tests).
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
        });
}
