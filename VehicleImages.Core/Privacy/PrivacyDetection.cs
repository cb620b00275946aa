using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Processing.Chores;

namespace VehicleImages.Core.Privacy;

/// <summary>
/// Writes the boxes one source found. A person's boxes outrank the others: when a photo has any <c>user</c> box or a
/// person reviewed it, nothing is written. Otherwise the source's own boxes are replaced (the detector replaces only
/// <c>local</c> boxes, tier 1 only <c>ai</c> ones), and the photo's blurred copies are dropped when its boxes changed.
/// </summary>
public sealed class PrivacyBoxWriter(IDbContextFactory<VehicleImagesDbContext> contexts, BlurredVariants blurred, TimeProvider time)
{
    /// <summary>True when the photo's boxes changed.</summary>
    public async Task<bool> ReplaceAsync(Guid imageId, string source, IReadOnlyList<(BoxF Box, float? Confidence)> boxes, CancellationToken cancellationToken)
    {
        bool changed;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            // Writers of one photo's boxes take turns (the person's save, the detector, tier 1).
            await db.Database.ExecuteSqlAsync($"SELECT 1 FROM vehicle_images WHERE id = {imageId} FOR UPDATE", cancellationToken);
            if (await db.PrivacyReviews.AnyAsync(r => r.ImageId == imageId, cancellationToken)
                || await db.PrivacyBoxes.AnyAsync(b => b.ImageId == imageId && b.Source == PrivacyBoxSource.User, cancellationToken)
                || !await db.VehicleImages.AnyAsync(i => i.Id == imageId, cancellationToken))
                return false;
            var old = await db.PrivacyBoxes.Where(b => b.ImageId == imageId && b.Source == source).ToListAsync(cancellationToken);
            changed = BlurredVariants.Hash(old.Select(b => new BoxF(b.Kind, b.X, b.Y, b.Width, b.Height))) != BlurredVariants.Hash(boxes.Select(b => b.Box));
            if (!changed)
                return false;
            db.PrivacyBoxes.RemoveRange(old);
            var now = time.GetUtcNow();
            db.PrivacyBoxes.AddRange(boxes.Select(b => new PrivacyBox
            {
                ImageId = imageId, Kind = b.Box.Kind, X = b.Box.X, Y = b.Box.Y, Width = b.Box.Width, Height = b.Box.Height,
                Source = source, Confidence = b.Confidence, CreatedAt = now,
            }));
            await db.SaveChangesAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }
        await blurred.ForgetAsync(imageId, cancellationToken);
        return true;
    }
}

/// <summary>
/// The local detector as a pipeline step before tier 1 (and, through <see cref="PrivacyBackfill"/>, on photos stored
/// before it): reads the stored large variant, finds plates and faces, writes them as <c>local</c> boxes and records the
/// scan so a retried attempt skips the photo. Off when <c>Privacy__LocalDetector</c> is false or the cascades are missing.
/// </summary>
public sealed class PrivacyDetectorStep(
    LocalDetector local, IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, PrivacyBoxWriter writer,
    TimeProvider time, ILogger<PrivacyDetectorStep> logger) : ILocalStep
{
    public string Name => "privacy detector";

    public bool Enabled => local.Detector is not null;

    public async Task RunAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        // No stored files (a row made without an upload): nothing to look at, and no query spent on it.
        if (local.Detector is not { } detector || request.Variants is null)
            return;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
            if (await db.PrivacyScans.AnyAsync(s => s.ImageId == request.ImageId, cancellationToken))
                return;

        var (jpeg, _) = await request.ReadVariantAsync(store, "large", cancellationToken);
        IReadOnlyList<BoxF> found;
        var changed = false;
        try
        {
            found = await Task.Run(() => detector.Detect(jpeg), cancellationToken);
            changed = await writer.ReplaceAsync(request.ImageId, PrivacyBoxSource.Local, [.. found.Select(b => (b, (float?)null))], cancellationToken);
        }
        catch (Exception e) when (e is ArgumentException or OpenCvSharp.OpenCVException)
        {
            // Recorded as scanned all the same: the backfill must not stumble on the same photo at every turn.
            logger.LogWarning("The privacy detector could not read photo {Image}: {Reason}", request.ImageId, e.Message);
            found = [];
        }

        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO image_privacy_scans (image_id, scanned_at, found)
                SELECT {request.ImageId}, {time.GetUtcNow()}, {found.Count} WHERE EXISTS (SELECT 1 FROM vehicle_images WHERE id = {request.ImageId})
                ON CONFLICT (image_id) DO UPDATE SET scanned_at = excluded.scanned_at, found = excluded.found
                """, cancellationToken);
        }
        if (found.Count > 0)
            logger.LogDebug("The privacy detector found {Count} boxes in photo {Image} ({Written})", found.Count, request.ImageId, changed ? "written" : "not written");
    }
}

/// <summary>Runs the detector on stored photos it has not looked at yet (from before it existed), a batch per turn.</summary>
public sealed class PrivacyBackfill(IDbContextFactory<VehicleImagesDbContext> contexts, PrivacyDetectorStep step) : Processing.Chores.IChore
{
    public const int Batch = 50;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!step.Enabled)
            return 0;
        List<(Guid Id, string FileName, int? Width, int? Height, string Variants)> photos;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            photos = [.. (await db.VehicleImages.AsNoTracking()
                .Where(i => i.Variants != null && !db.PrivacyScans.Any(s => s.ImageId == i.Id))
                .OrderBy(i => i.CreatedAt).Take(Batch)
                .Select(i => new { i.Id, i.FileName, i.Width, i.Height, i.Variants })
                .ToListAsync(cancellationToken)).Select(i => (i.Id, i.FileName, i.Width, i.Height, i.Variants!))];
        }
        var done = 0;
        foreach (var p in photos)
        {
            try
            {
                await step.RunAsync(new AnalysisRequest(p.Id, p.FileName, p.Width, p.Height, VariantSet.FromJson(p.Variants), null), cancellationToken);
                done++;
            }
            catch (AnalysisException)
            {
                // Its files are gone (the photo is being deleted): the next turn no longer lists it.
            }
        }
        return done;
    }
}
