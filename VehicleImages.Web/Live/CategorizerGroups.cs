using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;

namespace VehicleImages.Web.Live;

/// <summary>Photos grouped for the Photo Categorizer: Processing and Failed first, then the taxonomy in order, Unknown last.</summary>
public static class CategorizerGroups
{
    public sealed record Group(string Key, string Title, IReadOnlyList<ImageSummary> Images);

    public static IReadOnlyList<Group> Build(IEnumerable<ImageSummary> images)
    {
        var all = images.ToList();
        var groups = new List<Group>();
        var processing = all.Where(i => i.ProcessingStatus is ProcessingStatus.Pending or ProcessingStatus.Processing).ToList();
        var failed = all.Where(i => i.ProcessingStatus == ProcessingStatus.Failed).ToList();
        var cancelled = all.Where(i => i.ProcessingStatus == ProcessingStatus.Cancelled).ToList();
        if (processing.Count > 0)
            groups.Add(new Group("processing", "Processing", processing));
        if (failed.Count > 0)
            groups.Add(new Group("failed", "Failed", failed));
        if (cancelled.Count > 0)
            groups.Add(new Group("cancelled", "Cancelled", cancelled));

        // A person's categorisation counts even before the analysis finished; otherwise analysed photos only.
        var placed = all.Except(processing).Except(failed).Except(cancelled).ToList();
        foreach (var (category, angles) in Taxonomy.Categories)
            foreach (var angle in angles)
                if (placed.Where(i => i.Category == category && i.Angle == angle).ToList() is { Count: > 0 } shots)
                    groups.Add(new Group($"{category}.{angle}", $"{Taxonomy.Label(category)} · {Taxonomy.Label(angle)}", shots));
        if (placed.Where(i => i.Category == Taxonomy.Unknown || !Taxonomy.IsValid(i.Category, i.Angle)).ToList() is { Count: > 0 } unknown)
            groups.Add(new Group("unknown", "Unknown", unknown));
        return groups;
    }
}
