using Bunit;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Pages.Vehicles;

namespace VehicleImages.Tests.Components;

/// <summary>
/// The gallery holds one server page (48 photos) of a larger vehicle: events for photos on other pages
/// change the counts without a query, and turning the page fetches only that page.
/// </summary>
public sealed class PagedGalleryTests : LivePageContext
{
    private async Task<IRenderedComponent<VehicleGallery>> RenderLargeGalleryAsync()
    {
        // 58 more photos, taken after the first two: 60 in all, 48 on page one.
        await ImageRows.ScalarAsync<long>(Database, """
            WITH made AS (
                INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at)
                SELECT gen_random_uuid(), @v, @u, 'MORE_' || lpad(n::text, 2, '0') || '.jpg', 'pending', '2024-02-01'::timestamptz + n * interval '1 minute'
                FROM generate_series(1, 58) AS n RETURNING 1)
            SELECT count(*) FROM made
            """, ("v", Vehicle), ("u", Owner));
        var page = Render<VehicleGallery>(p => p.Add(g => g.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(48, page.FindAll(".photo-card").Count), Patience);
        // The export box's own count of unreviewed photos, done when it starts, before the queries this test watches.
        page.WaitForAssertion(() => Assert.Single(page.FindAll("#export-unreviewed")), Patience);
        Queries.Reset();
        return page;
    }

    private static string Summary(IRenderedComponent<VehicleGallery> page) =>
        string.Join(' ', page.Find("#summary").TextContent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task Gallery_LargeVehicle_HoldsOnePageAndCountsEveryPhoto()
    {
        var page = await RenderLargeGalleryAsync();

        Assert.Equal("0 analyzed · 60 processing · 0 failed", Summary(page));
        // The two photos taken first lead page one (same time, so in id order), the other 58 follow.
        Assert.Equal(["IMG_1.jpg", "IMG_2.jpg"], page.FindAll(".photo-card .photo-name").Take(2).Select(n => n.TextContent).Order());
        Assert.Equal("MORE_46.jpg", page.FindAll(".photo-card .photo-name")[^1].TextContent);
    }

    [Fact]
    public async Task Gallery_EventForAPhotoOnAnotherPage_UpdatesTheCountsWithoutAQuery()
    {
        var page = await RenderLargeGalleryAsync();
        var onPageTwo = await ImageRows.ScalarAsync<Guid>(Database, "SELECT id FROM vehicle_images WHERE file_name = 'MORE_58.jpg'");

        await Notifier.PublishStatusAsync([Event(onPageTwo, ProcessingStatus.Complete)]);

        page.WaitForAssertion(() => Assert.Equal("1 analyzed · 59 processing · 0 failed", Summary(page)), Patience);
        Assert.Equal(48, page.FindAll(".photo-card").Count);
        Assert.Empty(Queries.Commands);
    }

    [Fact]
    public async Task Gallery_NextPage_FetchesThatPageOnly()
    {
        var page = await RenderLargeGalleryAsync();

        Assert.Equal(["1", "2"], page.FindAll(".gallery-pager button:not([id])").Select(b => b.TextContent));
        page.Find("#next-page").Click();

        page.WaitForAssertion(() => Assert.Equal(12, page.FindAll(".photo-card").Count), Patience);
        Assert.Equal("MORE_58.jpg", page.FindAll(".photo-card .photo-name")[^1].TextContent);
        Assert.True(Queries.Commands.Count <= 3, string.Join("\n", Queries.Commands)); // the vehicle check, the count, the page
        Assert.Equal("page", page.Find(".mud-pagination-item-selected button").GetAttribute("aria-current"));
        Assert.Equal("2", page.Find(".mud-pagination-item-selected button").TextContent);
        Assert.True(page.Find("#next-page").HasAttribute("disabled"));
    }

    [Theory]
    [InlineData(1, 2, "1 2")]
    [InlineData(1, 105, "1 2 … 104 105")]
    [InlineData(50, 105, "1 2 … 49 50 51 … 104 105")]
    [InlineData(4, 105, "1 2 3 4 5 … 104 105")]
    [InlineData(105, 105, "1 2 … 104 105")]
    [InlineData(3, 6, "1 2 3 4 5 6")]
    public void Pager_ShowsTheEndsAndTheCurrentPageWithItsNeighbours(int current, int count, string shown) =>
        Assert.Equal(shown, string.Join(' ', VehicleImages.Web.Components.Shared.LivePhotoGrid.PageNumbers(current, count).Select(n => n?.ToString() ?? "…")));
}
