using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Live;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Components;

public sealed class LiveLogicTests
{
    private static ImageSummary Photo(string status = "complete", string category = "unknown", string angle = "unknown") =>
        new(Guid.NewGuid(), Guid.Empty, "p.jpg", status, 1, null, null, false, category, angle, 100, 100, DateTimeOffset.UnixEpoch,
            new ImageUrls("", "", "", ""));

    private static ImageStatusEvent Event(string status, string? error = null) =>
        new(Guid.NewGuid(), Guid.Empty, Guid.Empty, status, 1, error);

    [Fact]
    public void Toasts_BurstOfChanges_OneToastPerKindNotPerPhoto()
    {
        var batch = Enumerable.Range(0, 12).Select(_ => Event("processing"))
            .Concat(Enumerable.Range(0, 12).Select(_ => Event("complete"))).ToList();

        var toasts = ToastPlanner.Plan(batch, _ => "x.jpg");

        Assert.Equal(["Analyzing 12 photos…", "12 analyzed"], toasts.Select(t => t.Text));
    }

    [Fact]
    public void Toasts_FewFailures_NameThePhotoTheReasonAndOfferRetry()
    {
        var failed = Event("failed", "provider timed out");

        var toast = Assert.Single(ToastPlanner.Plan([failed], _ => "IMG_0042.jpg"));

        Assert.Equal("IMG_0042.jpg failed: provider timed out", toast.Text);
        Assert.True(toast.IsError);
        Assert.Equal(failed.ImageId, toast.RetryImageId);
    }

    [Fact]
    public void Toasts_ManyFailures_AreCounted()
    {
        var toast = Assert.Single(ToastPlanner.Plan(Enumerable.Range(0, 9).Select(_ => Event("failed", "500")).ToList(), _ => "x"));

        Assert.Equal("9 photos failed; see the Failed filter to retry them", toast.Text);
    }

    [Fact]
    public void Categorizer_Groups_ProcessingAndFailedFirstThenTaxonomyOrderUnknownLast()
    {
        var photos = new[]
        {
            Photo(category: "interior", angle: "dashboard"),
            Photo("failed"),
            Photo(category: "exterior", angle: "rear"),
            Photo(),
            Photo("pending"),
            Photo(category: "exterior", angle: "front"),
            Photo(category: "exterior", angle: "front"),
        };

        var groups = CategorizerGroups.Build(photos);

        Assert.Equal(["processing", "failed", "exterior.front", "exterior.rear", "interior.dashboard", "unknown"], groups.Select(g => g.Key));
        Assert.Equal(2, groups.Single(g => g.Key == "exterior.front").Images.Count);
        Assert.Equal(photos.Length, groups.Sum(g => g.Images.Count)); // nothing invisible
    }

    [Fact]
    public void Checklist_IsTheListingsShotSequence_ShowsWhichAreMissing()
    {
        var photos = new[] { Photo(category: "exterior", angle: "front"), Photo(category: "engine_bay", angle: "full"),
            Photo(category: "engine_bay", angle: "left"), Photo(category: "interior", angle: "dashboard") };

        var check = ShotChecklist.Check(photos);

        Assert.Equal(VehicleImages.Core.Listings.ShotSequence.Shots.Select(s => s.Label), check.Select(c => c.Label));
        var present = check.ToDictionary(c => c.Label, c => c.Present);
        Assert.True(present["Front"]);
        Assert.True(present["Engine bay"]);
        Assert.True(present["Dashboard"]);
        Assert.False(present["Rear"]);
        Assert.False(present["Wheel"]);
        Assert.Equal(VehicleImages.Core.Listings.ShotSequence.Shots.Count - 3, check.Count(c => !c.Present));
    }
}
