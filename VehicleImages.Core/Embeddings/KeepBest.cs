using Microsoft.EntityFrameworkCore;
using Npgsql;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Listings;

namespace VehicleImages.Core.Embeddings;

public sealed record KeptPhoto(Guid ImageId, string Reason);

public sealed record KeepBestOutcome(int Deleted, IReadOnlyList<KeptPhoto> Kept);

/// <summary>
/// "Keep best, delete the rest": every stacked photo of a vehicle that is not its stack's best goes, through the ordinary
/// photo deletion (its files go with it), except a photo in the vehicle's manual listing, in an active share's set, or
/// that a person categorized differently from its best: those are kept, each with the reason.
/// </summary>
public sealed class KeepBest(IDbContextFactory<VehicleImagesDbContext> contexts, ImageService images, StackService stacks)
{
    public const string InManualListing = "it is in the listing you arranged";
    public const string InActiveShare = "it is in an active share";
    public const string CategorizedDifferently = "you categorized it differently from the best of its stack";

    /// <summary>Null when the vehicle is not the caller's.</summary>
    public async Task<KeepBestOutcome?> RunAsync(Caller caller, Guid vehicleId, CancellationToken cancellationToken)
    {
        List<Guid> doomed;
        var kept = new List<KeptPhoto>();
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Vehicles.VisibleTo(caller).AnyAsync(v => v.Id == vehicleId, cancellationToken))
                return null;
            var stacked = await StackService.StackedAsync(db, vehicleId, cancellationToken);
            var info = StackService.Describe(stacked);
            var bests = stacked.Where(s => info[s.Photo.ImageId].IsStackBest).ToDictionary(s => s.StackId);
            var listing = await db.VehicleListings.AsNoTracking().SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
            var manual = listing is { Mode: ListingMode.Manual } ? listing.ImageIds.ToHashSet() : [];
            var shared = await SharedPhotosAsync(db, vehicleId, cancellationToken);
            doomed = [];
            foreach (var s in stacked.Where(s => !info[s.Photo.ImageId].IsStackBest))
            {
                var best = bests[s.StackId].Photo;
                if (manual.Contains(s.Photo.ImageId))
                    kept.Add(new KeptPhoto(s.Photo.ImageId, InManualListing));
                else if (shared.Contains(s.Photo.ImageId))
                    kept.Add(new KeptPhoto(s.Photo.ImageId, InActiveShare));
                else if (s.PersonCategory is not null && (s.PersonCategory != best.Category || s.PersonAngle != best.Angle))
                    kept.Add(new KeptPhoto(s.Photo.ImageId, CategorizedDifferently));
                else
                    doomed.Add(s.Photo.ImageId);
            }
        }
        var deleted = 0;
        foreach (var id in doomed)
            if (await images.DeleteAsync(caller, id, cancellationToken))
                deleted++;
        if (deleted > 0)
            stacks.Announce(vehicleId);
        return new KeepBestOutcome(deleted, kept);
    }

    /// <summary>
    /// The photos of this vehicle that an active (not revoked, not expired) share may serve and that keep-best could delete.
    /// A share's set is the listing, or "all", which by the contract admits no stacked photo that is not its stack's best
    /// unless it is in the listing; an automatic listing holds only bests. So while the vehicle has an active share, the
    /// photos at stake are exactly those of its manual listing (which the manual-listing rule keeps too, and names first).
    /// </summary>
    private static async Task<HashSet<Guid>> SharedPhotosAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        if (!await db.ShareLinks.AnyAsync(s => s.VehicleId == vehicleId && s.RevokedAt == null && s.ExpiresAt > now, cancellationToken))
            return [];
        var listing = await db.VehicleListings.AsNoTracking().SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
        return listing?.ImageIds.ToHashSet() ?? [];
    }
}
