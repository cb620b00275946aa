using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Listings;

/// <summary>What a save of the person's order did.</summary>
public enum ListingSave { Saved, NotFound, UnknownPhotos, Stale }

/// <summary>
/// A vehicle's listing: derived from the analysis on every read until a person edits it, then the person's stored order.
/// The listing's cover and the vehicle's primary photo are one idea: a read keeps the primary flag on the cover.
/// </summary>
public sealed class ListingService(IDbContextFactory<VehicleImagesDbContext> contexts, IOptionsMonitor<ListingOptions> options)
{
    /// <summary>The caller's vehicle's listing; null when the vehicle is not the caller's.</summary>
    public async Task<ListingView?> GetAsync(Caller caller, Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await OwnsAsync(db, caller, vehicleId, cancellationToken))
            return null;
        var view = await ReadAsync(db, vehicleId, cancellationToken);
        if (view.CoverImageId is { } cover && !await db.VehicleImages.AnyAsync(i => i.Id == cover && i.IsPrimary, cancellationToken))
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            await AdvisoryLocks.LockVehicleAsync(db, vehicleId, cancellationToken);
            await KeepPrimaryOnCoverAsync(db, vehicleId, (await ReadAsync(db, vehicleId, cancellationToken)).CoverImageId, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }
        return view;
    }

    /// <summary>Stores the person's order (manual from now on); the first photo is the cover and the primary photo.</summary>
    public async Task<(ListingSave Outcome, ListingView? View, IReadOnlyList<Guid> Unknown)> SaveAsync(
        Caller caller, Guid vehicleId, IReadOnlyList<Guid> imageIds, int? ifMatch, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await OwnsAsync(db, caller, vehicleId, cancellationToken))
            return (ListingSave.NotFound, null, []);
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync<(ListingSave, ListingView?, IReadOnlyList<Guid>)>(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            await AdvisoryLocks.LockVehicleAsync(db, vehicleId, cancellationToken);
            var photos = await db.VehicleImages.Where(i => i.VehicleId == vehicleId).Select(i => i.Id).ToListAsync(cancellationToken);
            var unknown = imageIds.Where(id => !photos.Contains(id)).Distinct().ToList();
            if (unknown.Count > 0)
                return (ListingSave.UnknownPhotos, null, unknown);
            var row = await db.VehicleListings.SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
            if (ifMatch is { } expected && expected != (row?.Version ?? 0))
                return (ListingSave.Stale, await ReadAsync(db, vehicleId, cancellationToken), []);
            if (row is null)
                db.VehicleListings.Add(row = new VehicleListing { VehicleId = vehicleId });
            row.Mode = ListingMode.Manual;
            row.ImageIds = [.. imageIds.Distinct()];
            row.Version++;
            row.EditedAt = DateTimeOffset.UtcNow;
            await db.SaveChangesAsync(cancellationToken);
            var view = await ReadAsync(db, vehicleId, cancellationToken);
            await KeepPrimaryOnCoverAsync(db, vehicleId, view.CoverImageId, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return (ListingSave.Saved, view, []);
        });
    }

    /// <summary>Back to the automatic listing; null when the vehicle is not the caller's.</summary>
    public async Task<ListingView?> RebuildAsync(Caller caller, Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await OwnsAsync(db, caller, vehicleId, cancellationToken))
            return null;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicleId, cancellationToken);
        var row = await db.VehicleListings.SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
        if (row is null)
            db.VehicleListings.Add(row = new VehicleListing { VehicleId = vehicleId });
        row.Mode = ListingMode.Auto;
        row.ImageIds = [];
        row.Version++;
        row.EditedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        var view = await ReadAsync(db, vehicleId, cancellationToken);
        await KeepPrimaryOnCoverAsync(db, vehicleId, view.CoverImageId, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return view;
    }

    /// <summary>
    /// The person starred a photo (the gallery's "primary" action): it takes first place and the listing becomes theirs.
    /// Runs inside the caller's transaction, which holds the vehicle's lock.
    /// </summary>
    public async Task MakeCoverAsync(VehicleImagesDbContext db, Guid vehicleId, Guid imageId, CancellationToken cancellationToken)
    {
        var current = await ReadAsync(db, vehicleId, cancellationToken);
        var row = await db.VehicleListings.SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
        if (row is null)
            db.VehicleListings.Add(row = new VehicleListing { VehicleId = vehicleId });
        row.ImageIds = [imageId, .. current.Items.Select(i => i.ImageId).Where(id => id != imageId)];
        row.Mode = ListingMode.Manual;
        row.Version++;
        row.EditedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
    }

    private static Task<bool> OwnsAsync(VehicleImagesDbContext db, Caller caller, Guid vehicleId, CancellationToken cancellationToken) =>
        db.Vehicles.AnyAsync(v => v.Id == vehicleId && (v.UserId == caller.UserId || caller.IsAdmin), cancellationToken);

    private async Task<ListingView> ReadAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken)
    {
        var stored = await db.VehicleListings.AsNoTracking().SingleOrDefaultAsync(l => l.VehicleId == vehicleId, cancellationToken);
        var photos = await CandidatesAsync(db, vehicleId, cancellationToken);
        return ListingBuilder.Build(photos, stored, options.CurrentValue);
    }

    /// <summary>
    /// Tier 1's quality of each photo of the vehicle as the listing reads it (CandidatesAsync's SQL, the one reading of
    /// quality_score: a number rounded to an integer, null otherwise), for the export's photos.csv.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, int?>> QualityAsync(Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return (await CandidatesAsync(db, vehicleId, cancellationToken)).ToDictionary(c => c.ImageId, c => c.Quality);
    }

    /// <summary>Every photo of the vehicle with its effective shot (a person's choice outranks the analyzer's) and tier 1's quality.</summary>
    private static async Task<List<ListingCandidate>> CandidatesAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken)
    {
        var rows = await db.Database.SqlQuery<CandidateRow>($"""
            SELECT v.id AS image_id, v.processing_status AS status,
                   coalesce(a.category, 'unknown') AS category, coalesce(a.angle, 'unknown') AS angle,
                   CASE WHEN jsonb_typeof(v.ai_scan_metadata->{Tiers.ClassificationKey}->'quality_score') = 'number'
                        THEN (v.ai_scan_metadata->{Tiers.ClassificationKey}->>'quality_score')::numeric::int END AS quality,
                   v.width AS width, v.height AS height, v.taken_at AS taken_at, v.created_at AS created_at,
                   (SELECT max(t.finished_at) FROM image_processing_attempts t WHERE t.image_id = v.id AND t.outcome = 'complete') AS analysed_at,
                   e.focus AS focus, e.exposure AS exposure
            FROM vehicle_images v
            LEFT JOIN image_embeddings e ON e.image_id = v.id
            LEFT JOIN LATERAL (SELECT category, angle FROM vehicle_image_angles
                               WHERE image_id = v.id ORDER BY (source = 'user') DESC LIMIT 1) a ON true
            WHERE v.vehicle_id = {vehicleId}
            """).ToListAsync(cancellationToken);
        // Only a stack's best goes into an automatic listing (Embeddings/StackService).
        var stacks = await Embeddings.StackService.DescribeVehicleAsync(db, vehicleId, cancellationToken);
        return [.. rows.Select(r => new ListingCandidate(r.ImageId, r.Status, r.Category, r.Angle, r.Quality, r.Width, r.Height,
            r.TakenAt, r.CreatedAt, r.AnalysedAt, Sharpness: r.Focus, Exposure: r.Exposure,
            NotStackBest: stacks.TryGetValue(r.ImageId, out var s) && !s.IsStackBest))];
    }

    private sealed record CandidateRow(Guid ImageId, string Status, string Category, string Angle, int? Quality, int? Width, int? Height,
        DateTimeOffset? TakenAt, DateTimeOffset CreatedAt, DateTimeOffset? AnalysedAt, double? Focus, double? Exposure);

    /// <summary>The vehicle's primary photo is the listing's cover: moves the flag when they differ (two statements: the flag is unique per vehicle).</summary>
    private static async Task KeepPrimaryOnCoverAsync(VehicleImagesDbContext db, Guid vehicleId, Guid? cover, CancellationToken cancellationToken)
    {
        if (cover is not { } id || await db.VehicleImages.AnyAsync(i => i.Id == id && i.IsPrimary, cancellationToken))
            return;
        await db.VehicleImages.Where(i => i.VehicleId == vehicleId && i.IsPrimary && i.Id != id)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.IsPrimary, false), cancellationToken);
        await db.VehicleImages.Where(i => i.Id == id).ExecuteUpdateAsync(s => s.SetProperty(i => i.IsPrimary, true), cancellationToken);
    }
}
