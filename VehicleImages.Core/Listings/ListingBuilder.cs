using VehicleImages.Core.Configuration;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Listings;

/// <summary>
/// Works a listing out from the photos of a vehicle: the automatic one from the analysis (the contract's sequence and
/// rules), or the person's stored order with the tray beside it. No I/O: <see cref="ListingService"/> reads and stores.
/// </summary>
public static class ListingBuilder
{
    public const string ByTimeNote =
        "The analysis could not tell the shots apart (the Local analyzer does not name categories), so the listing is the photos by time taken.";

    public static ListingView Build(IReadOnlyList<ListingCandidate> photos, VehicleListing? stored, ListingOptions options)
    {
        var analysing = photos.Count(p => p.Status is ProcessingStatus.Pending or ProcessingStatus.Processing);
        return stored is { Mode: ListingMode.Manual }
            ? Manual(photos, stored, options, analysing)
            : Auto(photos, stored?.Version ?? 0, options, analysing);
    }

    /// <summary>Why a photo stays out of an automatic listing, or null when it may go in.</summary>
    public static string? LeftOutBecause(ListingCandidate p, ListingOptions options) => p switch
    {
        { Status: ProcessingStatus.Failed } => "its analysis failed",
        { Status: ProcessingStatus.Cancelled } => "its analysis was cancelled",
        { Status: not ProcessingStatus.Complete } => "still being analysed",
        { Category: "not_vehicle" } => "not a photo of the vehicle",
        { Category: "document", Angle: not "odometer" } => "a document that may carry private data",
        { Quality: { } q } when q < options.MinQuality => $"quality {q} is under {options.MinQuality}",
        { NotStackBest: true } => "a near-duplicate of a better photo in its stack",
        _ => null,
    };

    private static ListingView Auto(IReadOnlyList<ListingCandidate> photos, int version, ListingOptions options, int analysing)
    {
        var eligible = photos.Where(p => LeftOutBecause(p, options) is null).ToList();
        var chosen = new List<(ListingCandidate Photo, string Reason)>();
        string? note = null;
        var limit = Math.Max(0, options.MaxPhotos);

        if (eligible.Count > 0 && eligible.All(p => p.Category == Taxonomy.Unknown))
        {
            note = ByTimeNote;
            chosen.AddRange(eligible.OrderBy(p => p.TakenAt ?? p.CreatedAt).ThenBy(p => p.CreatedAt).ThenBy(p => p.ImageId)
                .Select(p => (p, "by time taken")));
        }
        else
        {
            var byShot = eligible.GroupBy(p => (p.Category, p.Angle))
                .ToDictionary(g => g.Key, g => g.Order(PhotoRanking.Best).ToList());
            var coverShot = byShot.ContainsKey((ShotSequence.Cover.Category, ShotSequence.Cover.Angle)) ? ShotSequence.Cover : ShotSequence.CoverFallback;
            foreach (var shot in ShotSequence.Shots.Prepend(coverShot).Distinct())
            {
                if (!byShot.TryGetValue((shot.Category, shot.Angle), out var ranked))
                    continue;
                var reason = ranked.Count == 1 ? $"the only {shot.Label} photo" : $"the best of {ranked.Count} {shot.Label} photos";
                chosen.Add((ranked[0], shot == coverShot ? $"cover: {reason}" : reason));
            }

            // Then the other good photos by category in the taxonomy's order (unknown last), each category's best first.
            var used = chosen.Select(c => c.Photo.ImageId).ToHashSet();
            var categoryOrder = Taxonomy.CategoryNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
            chosen.AddRange(eligible.Where(p => !used.Contains(p.ImageId))
                .OrderBy(p => categoryOrder.GetValueOrDefault(p.Category, int.MaxValue))
                .ThenBy(p => p, PhotoRanking.Best)
                .Select(p => (p, p.Category == Taxonomy.Unknown ? "more photos" : $"more {Taxonomy.Label(p.Category).ToLowerInvariant()}")));
        }

        var items = chosen.Take(limit).Select((c, i) => new ListingItem(c.Photo.ImageId, i + 1, ShotOf(c.Photo), c.Reason)).ToList();
        var inListing = items.Select(i => i.ImageId).ToHashSet();
        var tray = photos.Where(p => !inListing.Contains(p.ImageId))
            .OrderBy(p => p.TakenAt ?? p.CreatedAt).ThenBy(p => p.ImageId)
            .Select(p => new TrayItem(p.ImageId, LeftOutBecause(p, options)
                ?? (chosen.Any(c => c.Photo.ImageId == p.ImageId) ? $"over the limit of {limit} photos (Listing__MaxPhotos)" : "another photo of this shot ranks higher")))
            .ToList();
        return new ListingView(ListingMode.Auto, version, items.FirstOrDefault()?.ImageId, items, Missing(items), tray, analysing, note);
    }

    private static ListingView Manual(IReadOnlyList<ListingCandidate> photos, VehicleListing stored, ListingOptions options, int analysing)
    {
        var byId = photos.ToDictionary(p => p.ImageId);
        // A deleted photo leaves the order; the next one becomes the cover.
        var items = stored.ImageIds.Where(byId.ContainsKey).Distinct()
            .Select((id, i) => new ListingItem(id, i + 1, ShotOf(byId[id]), i == 0 ? "cover: placed by you" : "placed by you"))
            .ToList();
        var inListing = items.Select(i => i.ImageId).ToHashSet();
        var tray = photos.Where(p => !inListing.Contains(p.ImageId))
            .OrderBy(p => p.TakenAt ?? p.CreatedAt).ThenBy(p => p.ImageId)
            .Select(p => new TrayItem(p.ImageId, TrayReason(p, stored.EditedAt, options)))
            .ToList();
        return new ListingView(ListingMode.Manual, stored.Version, items.FirstOrDefault()?.ImageId, items, Missing(items), tray, analysing, null);
    }

    private static string TrayReason(ListingCandidate p, DateTimeOffset? editedAt, ListingOptions options)
    {
        var newer = editedAt is { } edited && (p.CreatedAt > edited || p.AnalysedAt > edited);
        if (newer && p.Status == ProcessingStatus.Complete)
            return "analysed after your last edit";
        return LeftOutBecause(p, options) ?? (newer ? "added after your last edit" : "left out by you");
    }

    private static string ShotOf(ListingCandidate p) => $"{p.Category}.{p.Angle}";

    private static List<string> Missing(IReadOnlyList<ListingItem> items)
    {
        var have = items.Select(i => i.Shot).ToHashSet();
        return [.. ShotSequence.Shots.Select(s => s.Key).Where(k => !have.Contains(k))];
    }
}
