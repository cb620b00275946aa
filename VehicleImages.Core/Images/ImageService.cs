using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Core.Images;

/// <summary>Who is asking: owners reach their own photos; admins reach every photo.</summary>
public sealed record Caller(Guid UserId, bool IsAdmin);

/// <summary>What a Retry did: queued the photo again, or why not.</summary>
public enum RetryAnswer
{
    Queued,
    /// <summary>Not failed (pending, processing or analysed): nothing to retry.</summary>
    NotFailed,
    /// <summary>An administrator cancelled it; only an administrator can queue it again.</summary>
    Cancelled,
}

public sealed record ImageUrls(string Thumb, string Medium, string Large, string Original);

public sealed record ImageSummary(
    Guid Id, Guid VehicleId, string FileName, string ProcessingStatus, int Attempts, string? LastError,
    DateTimeOffset? TakenAt, bool IsPrimary, string Category, string Angle, int? Width, int? Height,
    DateTimeOffset CreatedAt, ImageUrls Urls)
{
    /// <summary>The photo's near-duplicate stack (Embeddings/StackService); null when it stands alone.</summary>
    public Guid? StackId { get; init; }
    public bool IsStackBest { get; init; } = true;
    public int StackSize { get; init; } = 1;

    /// <summary>A category and angle suggested from the person's own sorted photos, or null.</summary>
    public Embeddings.Suggestion? Suggestion { get; init; }
}

public sealed record AngleView(string Angle, string Category, double? Confidence, string Source);

public sealed record ImageDetail(ImageSummary Image, JsonNode? Exif, JsonNode? AiScanMetadata, IReadOnlyList<AngleView> Angles);

public sealed record ImagePage(IReadOnlyList<ImageSummary> Items, int Total);

public sealed record ImageFilter(string? Status = null, string? Category = null, string? Angle = null);

public sealed class ImageService(IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, StoredFileCleaner cleaner, Processing.Admin.ProcessingCommands commands,
    Listings.ListingService listings, Embeddings.SuggestionService suggestions)
{
    public async Task<IReadOnlyList<ImageSummary>?> ListAsync(Caller caller, Guid vehicleId, ImageFilter filter, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.Vehicles.VisibleTo(caller).AnyAsync(v => v.Id == vehicleId, cancellationToken))
            return null;
        var rows = await Project(db, Filtered(db, vehicleId, filter)).ToListAsync(cancellationToken);
        return rows.Select(ToSummary).ToList();
    }

    /// <summary>One page (from 1) of <see cref="ListAsync"/>'s list and the list's length; null when the vehicle is not the caller's.</summary>
    public async Task<ImagePage?> ListPageAsync(Caller caller, Guid vehicleId, ImageFilter filter, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.Vehicles.VisibleTo(caller).AnyAsync(v => v.Id == vehicleId, cancellationToken))
            return null;
        var filtered = Filtered(db, vehicleId, filter);
        var total = await filtered.CountAsync(cancellationToken);
        var rows = await Project(db, filtered.Skip((page - 1) * pageSize).Take(pageSize)).ToListAsync(cancellationToken);
        return new ImagePage(rows.Select(ToSummary).ToList(), total);
    }

    /// <summary>
    /// Every photo's id and status under the filter (status aside), streamed (nothing when the vehicle is not
    /// the caller's): a few bytes per photo, for counts a page keeps current from events; the caller keeps
    /// them as compactly as it likes, with no list or dictionary of them made here.
    /// </summary>
    public async IAsyncEnumerable<(Guid Id, string Status)> StatusesAsync(Caller caller, Guid vehicleId, ImageFilter filter,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.Vehicles.VisibleTo(caller).AnyAsync(v => v.Id == vehicleId, cancellationToken))
            yield break;
        await foreach (var row in Filtered(db, vehicleId, filter with { Status = null })
                           .Select(i => new { i.Id, i.ProcessingStatus }).AsAsyncEnumerable().WithCancellation(cancellationToken))
            yield return (row.Id, row.ProcessingStatus);
    }

    /// <summary>The list's rows in the list's order: the primary first, then by when taken (or uploaded), then by id.</summary>
    private static IQueryable<VehicleImage> Filtered(VehicleImagesDbContext db, Guid vehicleId, ImageFilter filter)
    {
        var images = db.VehicleImages.AsNoTracking().Where(i => i.VehicleId == vehicleId);
        if (filter.Status is { } status)
            images = images.Where(i => i.ProcessingStatus == status);
        if (filter.Category is { } category)
            images = images.Where(i => (db.VehicleImageAngles.Where(a => a.ImageId == i.Id)
                .OrderBy(a => a.Source == AngleSource.User ? 0 : 1).Select(a => a.Category).FirstOrDefault() ?? Taxonomy.Unknown) == category);
        if (filter.Angle is { } angle)
            images = images.Where(i => (db.VehicleImageAngles.Where(a => a.ImageId == i.Id)
                .OrderBy(a => a.Source == AngleSource.User ? 0 : 1).Select(a => a.Angle).FirstOrDefault() ?? Taxonomy.Unknown) == angle);
        return images.OrderByDescending(i => i.IsPrimary).ThenBy(i => i.TakenAt ?? i.CreatedAt).ThenBy(i => i.Id);
    }

    public async Task<ImageDetail?> GetAsync(Caller caller, Guid imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await Project(db, db.VehicleImages.AsNoTracking().VisibleTo(caller)
                .Where(i => i.Id == imageId))
            .SingleOrDefaultAsync(cancellationToken);
        if (row is null)
            return null;
        var angles = await db.VehicleImageAngles.AsNoTracking().Where(a => a.ImageId == imageId)
            .OrderBy(a => a.Source == AngleSource.User ? 0 : 1)
            .Select(a => new AngleView(a.Angle, a.Category, a.Confidence, a.Source))
            .ToListAsync(cancellationToken);
        return new ImageDetail(ToSummary(row), Parse(row.Image.ExifData), Parse(row.Image.AiScanMetadata), angles);
    }

    /// <summary>The stored bytes of one variant, or null when the caller may not see it or it does not exist.</summary>
    public async Task<(Stream Content, StoredObject Object, string Sha256, string FileName)?> OpenVariantAsync(Caller caller, Guid imageId, string variant, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var image = await db.VehicleImages.AsNoTracking().VisibleTo(caller)
            .Where(i => i.Id == imageId)
            .Select(i => new { i.Variants, i.Sha256, i.FileName })
            .SingleOrDefaultAsync(cancellationToken);
        if (image is null || VariantSet.FromJson(image.Variants)?.Get(variant) is not { } stored
            || await store.OpenReadAsync(stored.Key, cancellationToken) is not { } stream)
            return null;
        return (stream, stored, image.Sha256 ?? "", image.FileName);
    }

    public Task<bool> DeleteAsync(Caller caller, Guid imageId, CancellationToken cancellationToken = default) =>
        DatabaseErrors.RetryDeadlocksAsync(() => DeleteOnceAsync(caller, imageId, cancellationToken));

    private async Task<bool> DeleteOnceAsync(Caller caller, Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var image = await db.VehicleImages.VisibleTo(caller).SingleOrDefaultAsync(i => i.Id == imageId, cancellationToken);
        if (image is null)
            return false;

        await using (var tx = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            await AdvisoryLocks.LockVehicleAsync(db, image.VehicleId, cancellationToken);
            db.VehicleImages.Remove(image);
            await db.SaveChangesAsync(cancellationToken);
            if (image.IsPrimary)
            {
                // The next photo (oldest first) becomes the vehicle's primary.
                var next = await db.VehicleImages.Where(i => i.VehicleId == image.VehicleId)
                    .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).FirstOrDefaultAsync(cancellationToken);
                if (next is not null)
                {
                    next.IsPrimary = true;
                    await db.SaveChangesAsync(cancellationToken);
                }
            }

            await tx.CommitAsync(cancellationToken);
        }

        if (image.Sha256 is not null && VariantSet.FromJson(image.Variants) is { } variants)
            await cleaner.DeleteIfUnusedAsync(image.Sha256, variants, CancellationToken.None);
        return true;
    }

    /// <summary>
    /// A person's categorisation: stored as the image's one "user" row, which outranks the analyzer's
    /// everywhere and which re-analysis never touches. Null when the image is not the caller's; false
    /// when the pair is not in the taxonomy.
    /// </summary>
    public async Task<bool?> CategorizeAsync(Caller caller, Guid imageId, string category, string angle, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var owner = await db.VehicleImages.VisibleTo(caller).Where(i => i.Id == imageId).Select(i => (Guid?)i.UserId).SingleOrDefaultAsync(cancellationToken);
        if (owner is null)
            return null;
        if (category == Taxonomy.Unknown || !Taxonomy.IsValid(category, angle))
            return false;
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source)
            VALUES ({imageId}, {category}, {angle}, NULL, 'user')
            ON CONFLICT (image_id, source) DO UPDATE SET category = EXCLUDED.category, angle = EXCLUDED.angle, updated_at = now()
            """, cancellationToken);
        // The person sorted one more: the account's unsorted photos get new suggestions, without re-analysis.
        await suggestions.RefreshAsync(owner.Value, null, cancellationToken);
        return true;
    }

    /// <summary>
    /// Queues a failed photo again with fresh attempts; an administrator's Retry also queues a cancelled one.
    /// Null when not the caller's.
    /// </summary>
    public async Task<RetryAnswer?> RetryAsync(Caller caller, Guid imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var status = await db.VehicleImages.VisibleTo(caller).Where(i => i.Id == imageId)
            .Select(i => i.ProcessingStatus).SingleOrDefaultAsync(cancellationToken);
        if (status is null)
            return null;
        if (await commands.RetryAsync(imageId, caller.IsAdmin, cancellationToken))
            return RetryAnswer.Queued;
        return status == ProcessingStatus.Cancelled ? RetryAnswer.Cancelled : RetryAnswer.NotFailed;
    }

    public Task<bool> SetPrimaryAsync(Caller caller, Guid imageId, CancellationToken cancellationToken = default) =>
        DatabaseErrors.RetryDeadlocksAsync(() => SetPrimaryOnceAsync(caller, imageId, cancellationToken));

    private async Task<bool> SetPrimaryOnceAsync(Caller caller, Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var image = await db.VehicleImages.VisibleTo(caller).SingleOrDefaultAsync(i => i.Id == imageId, cancellationToken);
        if (image is null)
            return false;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, image.VehicleId, cancellationToken);
        await db.VehicleImages.Where(i => i.VehicleId == image.VehicleId && i.IsPrimary && i.Id != imageId)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.IsPrimary, false), cancellationToken);
        await db.VehicleImages.Where(i => i.Id == imageId)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.IsPrimary, true), cancellationToken);
        // The primary photo is the listing's cover: first place, and the order is the person's from now on.
        await listings.MakeCoverAsync(db, image.VehicleId, imageId, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    private sealed record Row(VehicleImage Image, VehicleImageAngle? Angle, int Attempts, Guid? StackId, int StackSize, Guid? StackBest,
        Embeddings.ImageSuggestion? Suggestion);

    /// <summary>Each image with its effective categorisation: a person's choice outranks the analyzer's.</summary>
    private static IQueryable<Row> Project(VehicleImagesDbContext db, IQueryable<VehicleImage> images) =>
        images.Select(i => new Row(i,
            db.VehicleImageAngles.Where(a => a.ImageId == i.Id).OrderBy(a => a.Source == AngleSource.User ? 0 : 1).FirstOrDefault(),
            // A complete photo's job left the job table with its completion; its count is on the completing
            // attempt, the photo's latest history row (ADR 017). Any other status reads its job row.
            i.ProcessingStatus == ProcessingStatus.Complete
                ? db.ImageProcessingAttempts.Where(a => a.ImageId == i.Id).OrderByDescending(a => a.Id).Select(a => a.Attempt).FirstOrDefault()
                : db.ImageProcessingJobs.Where(j => j.ImageId == i.Id).OrderByDescending(j => j.Id).Select(j => j.Attempt).FirstOrDefault(),
            // The near-duplicate stack (Embeddings/StackService), in the same query: SQL functions vi_image_stack and vi_stack_best.
            Embeddings.StackService.StackOf(i.Id),
            db.ImageStackMembers.Count(m => m.StackId == Embeddings.StackService.StackOf(i.Id)),
            Embeddings.StackService.BestOf(Embeddings.StackService.StackOf(i.Id)!.Value),
            db.ImageSuggestions.FirstOrDefault(s => s.ImageId == i.Id)));

    private static ImageSummary ToSummary(Row r)
    {
        var i = r.Image;
        var b = $"/api/images/{i.Id}/";
        return new ImageSummary(i.Id, i.VehicleId, i.FileName, i.ProcessingStatus, r.Attempts, i.ProcessingError, i.TakenAt, i.IsPrimary,
            r.Angle?.Category ?? Taxonomy.Unknown, r.Angle?.Angle ?? Taxonomy.Unknown, i.Width, i.Height, i.CreatedAt,
            new ImageUrls(b + "thumb", b + "medium", b + "large", b + "original"))
        {
            StackId = r.StackId,
            IsStackBest = r.StackId is null || r.StackBest == i.Id,
            StackSize = r.StackId is null ? 1 : r.StackSize,
            // Shown until a person categorizes the photo (their choice outranks it; the suggestion row goes then).
            Suggestion = r.Suggestion is { } s && r.Angle?.Source != AngleSource.User
                ? new Embeddings.Suggestion(s.Category, s.Angle, Math.Round(s.Confidence, 3), Embeddings.SuggestionService.Basis(s.Neighbours))
                : null,
        };
    }

    private static JsonNode? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonNode.Parse(json);

    /// <summary>The vehicle's stacks as its photos show them, for a page that keeps them current (the caller's page checked the vehicle).</summary>
    public async Task<Dictionary<Guid, Embeddings.StackInfo>> StacksAsync(Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await Embeddings.StackService.DescribeVehicleAsync(db, vehicleId, cancellationToken);
    }

    /// <summary>
    /// One photo as a list shows it, for a page that keeps its list current one photo at a time (a new
    /// upload, a photo whose category may have changed): one row, not the list. Null when the caller may not see it.
    /// </summary>
    public async Task<ImageSummary?> GetSummaryAsync(Caller caller, Guid imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await Project(db, db.VehicleImages.AsNoTracking()
                .Where(i => i.Id == imageId && (i.UserId == caller.UserId || caller.IsAdmin)))
            .SingleOrDefaultAsync(cancellationToken);
        return row is null ? null : ToSummary(row);
    }
}
