using Bunit;
using MudBlazor;
using VehicleImages.Core.Images;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Pages.Vehicles;
using VehicleImages.Web.Components.Shared;

namespace VehicleImages.Tests.Components;

/// <summary>The gallery patches one card per status event and adds uploads by id, never reloading its list for either.</summary>
public sealed class LiveGalleryTests : LivePageContext
{
    private IRenderedComponent<VehicleGallery> RenderGallery()
    {
        var page = Render<VehicleGallery>(p => p.Add(g => g.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(".photo-card").Count), Patience);
        // The export box counts the photos nobody reviewed for plates (its own query, done when it starts): counted
        // before the queries this test watches, so they are only what the events cause.
        page.WaitForAssertion(() => Assert.Single(page.FindAll("#export-unreviewed")), Patience);
        Queries.Reset();
        return page;
    }

    private static string BadgeOf(IRenderedComponent<VehicleGallery> page, Guid imageId) =>
        page.Find($".photo-card[data-image-id='{imageId}'] .status-badge").GetAttribute("data-status")!;

    [Fact]
    public async Task Gallery_EventForOnePhoto_PatchesThatCardsBadgeFromThePayload()
    {
        var page = RenderGallery();

        // The rows still say "processing": only the event's payload can turn the badge.
        await Notifier.PublishStatusAsync([Event(Photos[0], ProcessingStatus.Failed, attempts: 3, error: "provider timed out")]);

        page.WaitForAssertion(() => Assert.Equal(ProcessingStatus.Failed, BadgeOf(page, Photos[0])), Patience);
        Assert.Equal(ProcessingStatus.Processing, BadgeOf(page, Photos[1]));
        var failed = page.Find($".photo-card[data-image-id='{Photos[0]}']");
        Assert.Equal("provider timed out", failed.QuerySelector(".failure-reason")!.TextContent);
        Assert.NotNull(failed.QuerySelector(".retry-button"));
        Assert.Equal("0 analyzed · 1 processing · 1 failed", string.Join(' ', page.Find("#summary").TextContent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
    }

    private static List<Guid> Cards(IRenderedComponent<VehicleGallery> page) =>
        page.FindAll(".photo-card").Select(c => Guid.Parse(c.GetAttribute("data-image-id")!)).ToList();

    [Fact]
    public async Task Gallery_StatusFilter_ShowsThatStatusOnly_AndAnyShowsEveryPhotoAgain()
    {
        var failed = await InsertPhotoAsync("IMG_F.jpg", ProcessingStatus.Failed);
        var page = Render<VehicleGallery>(p => p.Add(g => g.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll(".photo-card").Count), Patience);

        page.Find("#status-filter").Change(ProcessingStatus.Failed);
        page.WaitForAssertion(() => Assert.Equal([failed], Cards(page)), Patience);
        // The counts stay those of every status.
        Assert.Equal("0 analyzed · 2 processing · 1 failed", string.Join(' ', page.Find("#summary").TextContent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));

        page.Find("#status-filter").Change("");
        page.WaitForAssertion(() => Assert.Equal(3, Cards(page).Count), Patience);
    }

    [Fact]
    public void Gallery_CategoryFilter_OffersThatCategorysAngles_AndUnknownShowsUnanalyzedPhotos()
    {
        var page = RenderGallery();
        Assert.Empty(page.FindAll("#angle-filter"));

        var category = Taxonomy.CategoryNames.First();
        page.Find("#category-filter").Change(category);
        page.WaitForAssertion(() => Assert.Empty(page.FindAll(".photo-card")), Patience);
        var angles = page.FindAll("#angle-filter option").Select(o => o.GetAttribute("value")).Where(v => v is { Length: > 0 });
        Assert.Equal(Taxonomy.AnglesOf(category), angles);

        page.Find("#category-filter").Change(Taxonomy.Unknown);
        page.WaitForAssertion(() => Assert.Equal(Photos.Order(), Cards(page).Order()), Patience);
        Assert.Empty(page.FindAll("#angle-filter"));
    }

    [Fact]
    public async Task Gallery_EventsForPhotosInTheList_RunNoQuery()
    {
        var page = RenderGallery();

        await Notifier.PublishStatusAsync([Event(Photos[0], ProcessingStatus.Complete), Event(Photos[1], ProcessingStatus.Failed, error: "x")]);

        page.WaitForAssertion(() => Assert.Equal(ProcessingStatus.Failed, BadgeOf(page, Photos[1])), Patience);
        Assert.Equal(ProcessingStatus.Complete, BadgeOf(page, Photos[0]));
        Assert.Empty(Queries.Commands);
    }

    [Fact]
    public async Task Gallery_EventForOnePhoto_RendersOnlyThatCardAgain()
    {
        var page = RenderGallery();
        var cards = page.FindComponents<PhotoCard>().ToDictionary(c => c.Instance.Image.Id);
        var renders = cards.ToDictionary(c => c.Key, c => c.Value.RenderCount);

        await Notifier.PublishStatusAsync([Event(Photos[0], ProcessingStatus.Complete)]);

        page.WaitForAssertion(() => Assert.Equal(ProcessingStatus.Complete, BadgeOf(page, Photos[0])), Patience);
        // bUnit counts a card's own renders and its children's (MudBlazor's chips render again by themselves).
        Assert.True(cards[Photos[0]].RenderCount > renders[Photos[0]]);
        Assert.Equal(renders[Photos[1]], cards[Photos[1]].RenderCount);
    }

    [Fact]
    public async Task Gallery_EventForAPhotoNotInTheList_FetchesThatOneRowOnly()
    {
        var page = RenderGallery();
        var fromAnotherTab = await InsertPhotoAsync("IMG_3.jpg");

        await Notifier.PublishStatusAsync([Event(fromAnotherTab, ProcessingStatus.Pending)]);

        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll(".photo-card").Count), Patience);
        Assert.Equal("IMG_3.jpg", page.FindAll(".photo-card .photo-name")[2].TextContent); // taken last, so shown last
        Assert.Single(Queries.Commands); // the list would be two: the vehicle check and the list
    }

    [Fact]
    public async Task Gallery_UploadFinished_AddsTheCreatedPhotoFromTheAnswerByIdOnly()
    {
        var page = RenderGallery();
        var created = await InsertPhotoAsync("new.jpg");

        await page.InvokeAsync(() => page.Instance.UploadFinished(
        [
            new IngestResult("new.jpg", IngestOutcome.Created, created, ProcessingStatus.Pending, null),
            new IngestResult("again.jpg", IngestOutcome.Duplicate, Photos[0], ProcessingStatus.Processing, null),
            IngestResult.Rejected("broken.jpg", "the file is truncated."),
        ]));

        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll(".photo-card").Count), Patience);
        Assert.Equal(ProcessingStatus.Pending, BadgeOf(page, created));
        Assert.Single(Queries.Commands);
    }

    [Fact]
    public async Task Gallery_UploadFinished_PhotoOfAnotherVehicle_IsNotAdded()
    {
        var page = RenderGallery();
        var elsewhere = (await ImageRows.InsertAsync(Database, 1)).Single(); // another owner's vehicle

        await page.InvokeAsync(() => page.Instance.UploadFinished([new IngestResult("x.jpg", IngestOutcome.Created, elsewhere, ProcessingStatus.Pending, null)]));

        Assert.Equal(2, page.FindAll(".photo-card").Count);
    }

    [Fact]
    public async Task Gallery_EmptyBatch_ReloadsTheList()
    {
        var page = RenderGallery();
        await ImageRows.ScalarAsync<Guid>(Database, "UPDATE vehicle_images SET processing_status = 'complete' WHERE id = @id RETURNING id", ("id", Photos[1]));

        await Notifier.PublishStatusAsync([]); // the listener reconnected: changes may have been missed

        page.WaitForAssertion(() => Assert.Equal(ProcessingStatus.Complete, BadgeOf(page, Photos[1])), Patience);
        Assert.NotEmpty(Queries.Commands);
    }

    [Fact]
    public async Task Gallery_FailedEvent_ToastNamesThePhotoAndItsReason()
    {
        var toasts = Render<MudSnackbarProvider>();
        RenderGallery();

        await Notifier.PublishStatusAsync([Event(Photos[1], ProcessingStatus.Failed, error: "provider timed out")]);

        toasts.WaitForAssertion(() => Assert.Contains("IMG_2.jpg failed: provider timed out", toasts.Markup), Patience);
        Assert.Contains("Retry", toasts.Find(".mud-snackbar").TextContent);
    }
}
