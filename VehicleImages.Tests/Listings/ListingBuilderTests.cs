using VehicleImages.Core.Configuration;
using VehicleImages.Core.Listings;

namespace VehicleImages.Tests.Listings;

/// <summary>The automatic listing follows the contract's sequence and rules; a person's order holds and keeps a tray.</summary>
public sealed class ListingBuilderTests
{
    private static readonly ListingOptions Options = new() { MinQuality = 5, MaxPhotos = 40 };
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 10, 0, 0, TimeSpan.Zero);
    private static int _n;

    private static ListingCandidate Photo(string shot, int? quality = 8, string status = "complete", int width = 4000, int minutes = 0)
    {
        var (category, angle) = (shot.Split('.')[0], shot.Split('.')[1]);
        var n = Interlocked.Increment(ref _n);
        return new ListingCandidate(new Guid(n, 0, 0, new byte[8]), status, category, angle, quality, width, 3000,
            T0.AddMinutes(minutes), T0.AddMinutes(minutes), status == "complete" ? T0.AddHours(1) : null);
    }

    [Fact]
    public void Auto_FollowsTheSequence_CoverIsTheBestFront3qLeft_OnePhotoPerShot_ThenOthersByCategory()
    {
        var rear = Photo("exterior.rear");
        var coverWorse = Photo("exterior.front_3q_left", quality: 7);
        var cover = Photo("exterior.front_3q_left", quality: 9);
        var dash = Photo("interior.dashboard");
        var front = Photo("exterior.front");
        var badge = Photo("detail.badge");
        var odometer = Photo("document.odometer");
        var engine = Photo("engine_bay.full");

        var view = ListingBuilder.Build([rear, coverWorse, cover, dash, front, badge, odometer, engine], null, Options);

        Assert.Equal(ListingMode.Auto, view.Mode);
        Assert.Equal(cover.ImageId, view.CoverImageId);
        Assert.Equal([cover.ImageId, front.ImageId, rear.ImageId, dash.ImageId, engine.ImageId, odometer.ImageId, coverWorse.ImageId, badge.ImageId],
            view.Items.Select(i => i.ImageId));
        Assert.Equal(Enumerable.Range(1, 8), view.Items.Select(i => i.Position));
        Assert.Equal("exterior.front_3q_left", view.Items[0].Shot);
        Assert.StartsWith("cover: the best of 2", view.Items[0].Reason);
        Assert.Contains("exterior.side_left", view.MissingShots);
        Assert.DoesNotContain("exterior.front_3q_left", view.MissingShots);
        Assert.Empty(view.Tray);
    }

    [Fact]
    public void Auto_NoFront3qLeft_TheFront3qRightIsTheCover_AndNotRepeated()
    {
        var right = Photo("exterior.front_3q_right");
        var side = Photo("exterior.side_left");

        var view = ListingBuilder.Build([side, right], null, Options);

        Assert.Equal([right.ImageId, side.ImageId], view.Items.Select(i => i.ImageId));
        Assert.Contains("exterior.front_3q_left", view.MissingShots);
    }

    [Fact]
    public void Auto_LeavesOutWhatTheContractSays_EachWithItsReasonInTheTray()
    {
        var good = Photo("exterior.front");
        var failed = Photo("exterior.rear", status: "failed");
        var cancelled = Photo("exterior.side_left", status: "cancelled");
        var pending = Photo("exterior.side_right", status: "pending");
        var notVehicle = Photo("not_vehicle.other");
        var vin = Photo("document.vin_plate");
        var blurry = Photo("interior.dashboard", quality: 3);

        var view = ListingBuilder.Build([good, failed, cancelled, pending, notVehicle, vin, blurry], null, Options);

        Assert.Equal([good.ImageId], view.Items.Select(i => i.ImageId));
        Assert.Equal(1, view.StillAnalysing);
        var reasons = view.Tray.ToDictionary(t => t.ImageId, t => t.Reason);
        Assert.Equal("its analysis failed", reasons[failed.ImageId]);
        Assert.Equal("its analysis was cancelled", reasons[cancelled.ImageId]);
        Assert.Equal("still being analysed", reasons[pending.ImageId]);
        Assert.Equal("not a photo of the vehicle", reasons[notVehicle.ImageId]);
        Assert.Equal("a document that may carry private data", reasons[vin.ImageId]);
        Assert.Equal("quality 3 is under 5", reasons[blurry.ImageId]);
    }

    [Fact]
    public void Auto_AtMostMaxPhotos_TheRestInTheTraySayingSo()
    {
        var photos = Enumerable.Range(0, 5).Select(i => Photo("detail.other", minutes: i)).ToList();

        var view = ListingBuilder.Build(photos, null, new ListingOptions { MinQuality = 5, MaxPhotos = 3 });

        Assert.Equal(3, view.Items.Count);
        Assert.Equal(2, view.Tray.Count);
        Assert.All(view.Tray, t => Assert.Contains("Listing__MaxPhotos", t.Reason));
    }

    [Fact]
    public void Auto_NoCategoriesAtAll_ByTimeTaken_AndSaysWhy()
    {
        var later = Photo("unknown.unknown", quality: null, minutes: 5);
        var first = Photo("unknown.unknown", quality: null, minutes: 1);

        var view = ListingBuilder.Build([later, first], null, Options);

        Assert.Equal([first.ImageId, later.ImageId], view.Items.Select(i => i.ImageId));
        Assert.Equal(ListingBuilder.ByTimeNote, view.Note);
    }

    [Fact]
    public void Ranking_QualityThenPixelsThenEarlierTaken()
    {
        var small = Photo("exterior.front", quality: 8, width: 1000);
        var big = Photo("exterior.front", quality: 8, width: 4000);
        var best = Photo("exterior.front", quality: 9, width: 500);
        var bigLater = Photo("exterior.front", quality: 8, width: 4000, minutes: 10);

        Assert.Equal([best, big, bigLater, small], new[] { small, bigLater, best, big }.Order(PhotoRanking.Best));
    }

    [Fact]
    public void Manual_KeepsThePersonsOrder_ADeletedPhotoLeaves_NewPhotosGoToTheTray()
    {
        var a = Photo("exterior.rear");
        var b = Photo("exterior.front");
        var c = Photo("interior.dashboard");
        var deleted = Guid.NewGuid();
        var edited = T0.AddMinutes(90);
        var newer = Photo("exterior.side_left") with { CreatedAt = T0.AddHours(1), AnalysedAt = T0.AddHours(2) };
        var stored = new VehicleListing { Mode = ListingMode.Manual, ImageIds = [deleted, b.ImageId, a.ImageId], Version = 4, EditedAt = edited };

        var view = ListingBuilder.Build([a, b, c, newer], stored, Options);

        Assert.Equal((ListingMode.Manual, 4, b.ImageId), (view.Mode, view.Version, view.CoverImageId));
        Assert.Equal([b.ImageId, a.ImageId], view.Items.Select(i => i.ImageId));
        var reasons = view.Tray.ToDictionary(t => t.ImageId, t => t.Reason);
        Assert.Equal("left out by you", reasons[c.ImageId]);
        Assert.Equal("analysed after your last edit", reasons[newer.ImageId]);
    }
}
