using System.Globalization;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Privacy;

/// <summary>A box as a person sends it: kind and rectangle in fractions of the oriented image.</summary>
public sealed record PrivacyBoxInput(string? Kind, double X, double Y, double Width, double Height);

/// <summary>A box as the API and the views show it.</summary>
public sealed record PrivacyBoxView(string Kind, double X, double Y, double Width, double Height, string Source, float? Confidence);

/// <summary>A photo's boxes (the person's first) and whether a person reviewed it.</summary>
public sealed record PrivacyState(IReadOnlyList<PrivacyBoxView> Boxes, bool Reviewed);

/// <summary>
/// The person's side of privacy boxes: reading a photo's boxes, saving the person's boxes (which replace all others
/// and mark the photo reviewed), and what is still unreviewed. Only the owner writes; admins do not review others' photos.
/// </summary>
public sealed class PrivacyBoxService(IDbContextFactory<VehicleImagesDbContext> contexts, TimeProvider time)
{
    /// <summary>More boxes than this on one photo is not a photo of a vehicle but a mistake (or an attack on the blur).</summary>
    public const int MaxBoxesPerPhoto = 50;

    /// <summary>
    /// The boxes that count: once a person reviewed a photo only their own boxes do, so a detector's or provider's box
    /// written in a race with the person's save is never shown nor used.
    /// </summary>
    public static IQueryable<PrivacyBox> Effective(VehicleImagesDbContext db) =>
        db.PrivacyBoxes.Where(b => b.Source == PrivacyBoxSource.User || !db.PrivacyReviews.Any(r => r.ImageId == b.ImageId));

    /// <summary>A photo's boxes and review, without checking who asks (callers check ownership first).</summary>
    public async Task<PrivacyState> GetAsync(Guid imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await ReadAsync(db, imageId, cancellationToken);
    }

    /// <summary>The photo's boxes and review for its owner; null when the photo is not theirs.</summary>
    public async Task<PrivacyState?> GetForOwnerAsync(Guid ownerId, Guid imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.VehicleImages.AnyAsync(i => i.Id == imageId && i.UserId == ownerId, cancellationToken))
            return null;
        return await ReadAsync(db, imageId, cancellationToken);
    }

    /// <summary>
    /// The person's boxes replace every other box of the photo and mark it reviewed; <paramref name="noneVisible"/> says
    /// no plate or face is visible (no boxes). Null when the photo is not the owner's. Call <see cref="Validate"/> first.
    /// </summary>
    public async Task<PrivacyState?> SaveAsync(Guid ownerId, Guid imageId, IReadOnlyList<PrivacyBoxInput> boxes, bool noneVisible,
        CancellationToken cancellationToken = default)
    {
        var problems = Validate(boxes, noneVisible);
        if (problems.Count > 0)
            throw new ArgumentException(string.Join(" ", problems.SelectMany(p => p.Value)), nameof(boxes));

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.VehicleImages.AnyAsync(i => i.Id == imageId && i.UserId == ownerId, cancellationToken))
            return null;

        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        // The review row first: its lock orders two saves of the same photo, and from here on writers of detected
        // boxes see a reviewed photo and leave it alone.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO image_privacy_reviews (image_id, reviewed_at, none_visible) VALUES ({imageId}, {now}, {noneVisible})
            ON CONFLICT (image_id) DO UPDATE SET reviewed_at = EXCLUDED.reviewed_at, none_visible = EXCLUDED.none_visible
            """, cancellationToken);
        await db.PrivacyBoxes.Where(b => b.ImageId == imageId).ExecuteDeleteAsync(cancellationToken);
        db.PrivacyBoxes.AddRange(boxes.Select(b => new PrivacyBox
        {
            Id = Guid.CreateVersion7(),
            ImageId = imageId,
            Kind = b.Kind!,
            X = b.X,
            Y = b.Y,
            Width = b.Width,
            Height = b.Height,
            Source = PrivacyBoxSource.User,
            CreatedAt = now,
        }));
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return await ReadAsync(db, imageId, cancellationToken);
    }

    /// <summary>The owner's photos of a vehicle that no person reviewed yet, in gallery order (primary first, then by time taken).</summary>
    public async Task<IReadOnlyList<Guid>> UnreviewedAsync(Guid ownerId, Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.VehicleImages.AsNoTracking()
            .Where(i => i.VehicleId == vehicleId && i.UserId == ownerId && !db.PrivacyReviews.Any(r => r.ImageId == i.Id))
            .OrderByDescending(i => i.IsPrimary).ThenBy(i => i.TakenAt ?? i.CreatedAt).ThenBy(i => i.Id)
            .Select(i => i.Id)
            .ToListAsync(cancellationToken);
    }

    /// <summary>How many of the owner's photos of the vehicle no person reviewed.</summary>
    public async Task<int> CountUnreviewedAsync(Guid ownerId, Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.VehicleImages
            .CountAsync(i => i.VehicleId == vehicleId && i.UserId == ownerId && !db.PrivacyReviews.Any(r => r.ImageId == i.Id), cancellationToken);
    }

    /// <summary>How many of these photos no person reviewed (for the warning before something leaves the app).</summary>
    public async Task<int> CountUnreviewedAsync(IReadOnlyCollection<Guid> imageIds, CancellationToken cancellationToken = default)
    {
        if (imageIds.Count == 0)
            return 0;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var ids = imageIds.Distinct().ToArray();
        var reviewed = await db.PrivacyReviews.CountAsync(r => ids.Contains(r.ImageId), cancellationToken);
        return ids.Length - reviewed;
    }

    /// <summary>
    /// Field name → messages, empty when the boxes can be saved. A box is named by its place (<c>boxes[2].kind</c>):
    /// a kind other than plate or face, a rectangle reaching outside [0, 1], or one of zero area is refused.
    /// </summary>
    public static Dictionary<string, string[]> Validate(IReadOnlyList<PrivacyBoxInput>? boxes, bool noneVisible)
    {
        var errors = new Dictionary<string, string[]>();
        if (boxes is null)
        {
            if (!noneVisible)
                errors["boxes"] = ["Send the photo's boxes (an empty list when there are none), or noneVisible: true."];
            return errors;
        }

        if (noneVisible && boxes.Count > 0)
            errors["noneVisible"] = ["noneVisible says the photo has no plate or face; send it without boxes."];
        if (boxes.Count > MaxBoxesPerPhoto)
            errors["boxes"] = [$"A photo takes at most {MaxBoxesPerPhoto} boxes."];
        for (var n = 0; n < boxes.Count && n < MaxBoxesPerPhoto + 1; n++)
        {
            var b = boxes[n];
            var name = string.Create(CultureInfo.InvariantCulture, $"boxes[{n}]");
            if (b is null)
            {
                errors[name] = [$"Box {n} is empty."];
                continue;
            }

            if (b.Kind is not (PrivacyBoxKind.Plate or PrivacyBoxKind.Face))
                errors[name + ".kind"] = [$"Box {n}: kind must be 'plate' or 'face', not '{b.Kind}'."];
            double[] values = [b.X, b.Y, b.Width, b.Height];
            if (values.Any(v => !double.IsFinite(v)))
                errors[name] = [$"Box {n}: x, y, width and height must be numbers."];
            else if (b.Width <= 0 || b.Height <= 0)
                errors[name] = [$"Box {n} has zero area: width and height must be more than 0."];
            else if (b.X < 0 || b.Y < 0 || b.X + b.Width > 1 + Tolerance || b.Y + b.Height > 1 + Tolerance)
                errors[name] = [$"Box {n} reaches outside the photo: x, y, x + width and y + height must lie within 0 to 1."];
        }

        return errors;
    }

    /// <summary>Fractions computed in a browser (x + width) may exceed 1 by a rounding error.</summary>
    private const double Tolerance = 1e-9;

    private static async Task<PrivacyState> ReadAsync(VehicleImagesDbContext db, Guid imageId, CancellationToken cancellationToken)
    {
        var boxes = await Effective(db).AsNoTracking().Where(b => b.ImageId == imageId)
            .OrderBy(b => b.Source == PrivacyBoxSource.User ? 0 : b.Source == PrivacyBoxSource.Local ? 1 : 2).ThenBy(b => b.CreatedAt).ThenBy(b => b.Id)
            .Select(b => new PrivacyBoxView(b.Kind, b.X, b.Y, b.Width, b.Height, b.Source, b.Confidence))
            .ToListAsync(cancellationToken);
        var reviewed = await db.PrivacyReviews.AnyAsync(r => r.ImageId == imageId, cancellationToken);
        return new PrivacyState(boxes, reviewed);
    }
}
