using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;

namespace VehicleImages.Web.Live;

public sealed record Toast(string Text, bool IsError, Guid? RetryImageId);

/// <summary>
/// What a person is told about a batch of status changes: one toast per kind of change, never one per
/// photo in a burst ("Analyzing 12 photos…", "12 analyzed"); failures name the photo and its reason
/// when there are few, and are counted when there are many.
/// </summary>
public static class ToastPlanner
{
    public const int NamedFailures = 3;

    public static IReadOnlyList<Toast> Plan(IReadOnlyList<ImageStatusEvent> batch, Func<Guid, string> fileName)
    {
        var toasts = new List<Toast>();
        var started = batch.Count(e => e.Status == ProcessingStatus.Processing);
        var done = batch.Count(e => e.Status == ProcessingStatus.Complete);
        var failed = batch.Where(e => e.Status == ProcessingStatus.Failed).ToList();
        var cancelled = batch.Count(e => e.Status == ProcessingStatus.Cancelled);
        if (started > 0)
            toasts.Add(new Toast(started == 1 ? "Analyzing 1 photo…" : $"Analyzing {started} photos…", false, null));
        if (done > 0)
            toasts.Add(new Toast(done == 1 ? "1 photo analyzed" : $"{done} analyzed", false, null));
        if (failed.Count > NamedFailures)
            toasts.Add(new Toast($"{failed.Count} photos failed; see the Failed filter to retry them", true, null));
        else
            toasts.AddRange(failed.Select(f => new Toast($"{fileName(f.ImageId)} failed: {f.Error ?? "unknown error"}", true, f.ImageId)));
        if (cancelled > 0)
            toasts.Add(new Toast(cancelled == 1 ? "1 photo's analysis was cancelled by an administrator"
                : $"{cancelled} photos' analysis was cancelled by an administrator", false, null));
        return toasts;
    }
}

/// <summary>The standard shots a listing needs (the listing's own sequence, one definition for both), and which a vehicle still lacks.</summary>
public static class ShotChecklist
{
    public static IReadOnlyList<(string Label, bool Present)> Check(IEnumerable<ImageSummary> images)
    {
        var have = images.Select(i => (i.Category, i.Angle)).ToHashSet();
        return [.. Core.Listings.ShotSequence.Shots.Select(s => (s.Label, have.Contains((s.Category, s.Angle))))];
    }
}

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
