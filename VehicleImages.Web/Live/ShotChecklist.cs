using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;

namespace VehicleImages.Web.Live;

/// <summary>The standard shots a listing needs (the listing's own sequence, one definition for both), and which a vehicle still lacks.</summary>
public static class ShotChecklist
{
    public static IReadOnlyList<(string Label, bool Present)> Check(IEnumerable<ImageSummary> images)
    {
        var have = images.Select(i => (i.Category, i.Angle)).ToHashSet();
        return [.. Core.Listings.ShotSequence.Shots.Select(s => (s.Label, have.Contains((s.Category, s.Angle))))];
    }
}
