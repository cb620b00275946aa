using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Imaging;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Privacy;

/// <summary>
/// What publishing one photo needs to know: its boxes (to hide: the vehicle hides them and there are some), the hash of
/// that box set, its stored variants, and the blurred copies already made for this box set.
/// </summary>
public sealed record HiddenPhoto(Guid ImageId, string Sha256, VariantSet Variants, IReadOnlyList<BoxF> Boxes, string BoxHash,
    IReadOnlyDictionary<string, StoredObject> Made);

/// <summary>
/// Blurred copies of photos at every size (thumb, medium, large, original), made once per box set and kept in the store
/// under <c>privacy/…/{image}-{box hash}/{size}.jpg</c> (table image_privacy_blurs says which exist). A changed box set
/// gets new copies and the old ones are deleted from the store; <see cref="ForgetAsync"/> does that at once when a
/// writer changes boxes. Only photos of vehicles that hide boxes, with boxes, are ever blurred; everything else is served as stored.
/// </summary>
public sealed class BlurredVariants(IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, ILogger<BlurredVariants> logger)
{
    public static readonly IReadOnlyList<string> Sizes = ["thumb", "medium", "large", "original"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The photos among <paramref name="imageIds"/> whose published copies must be blurred, with what is made already.</summary>
    public async Task<IReadOnlyDictionary<Guid, HiddenPhoto>> HiddenAsync(IReadOnlyCollection<Guid> imageIds, CancellationToken cancellationToken)
    {
        var result = new Dictionary<Guid, HiddenPhoto>();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        foreach (var batch in imageIds.Distinct().Chunk(1000))
        {
            var photos = await db.VehicleImages.AsNoTracking()
                .Where(i => batch.Contains(i.Id) && i.Sha256 != null && i.Variants != null
                    && db.Vehicles.Any(v => v.Id == i.VehicleId && v.HidePrivacyBoxes)
                    && db.PrivacyBoxes.Any(b => b.ImageId == i.Id
                        && (b.Source == PrivacyBoxSource.User || !db.PrivacyReviews.Any(r => r.ImageId == b.ImageId))))
                .Select(i => new { i.Id, i.Sha256, i.Variants })
                .ToListAsync(cancellationToken);
            if (photos.Count == 0)
                continue;
            var ids = photos.Select(p => p.Id).ToList();
            // Once a person reviewed a photo only their boxes count (ADR 022: a detected box racing the review is not theirs).
            var boxes = (await db.PrivacyBoxes.AsNoTracking().Where(b => ids.Contains(b.ImageId)
                    && (b.Source == PrivacyBoxSource.User || !db.PrivacyReviews.Any(r => r.ImageId == b.ImageId)))
                .ToListAsync(cancellationToken))
                .ToLookup(b => b.ImageId, b => new BoxF(b.Kind, b.X, b.Y, b.Width, b.Height));
            var made = await db.PrivacyBlurSets.AsNoTracking().Where(s => ids.Contains(s.ImageId)).ToDictionaryAsync(s => s.ImageId, cancellationToken);
            foreach (var p in photos)
            {
                var set = boxes[p.Id].ToList();
                var hash = Hash(set);
                var existing = made.TryGetValue(p.Id, out var row) && row.BoxHash == hash ? Read(row.Variants) : new Dictionary<string, StoredObject>();
                result[p.Id] = new HiddenPhoto(p.Id, p.Sha256!, VariantSet.FromJson(p.Variants)!, set, hash, existing);
            }
        }
        return result;
    }

    public async Task<HiddenPhoto?> HiddenAsync(Guid imageId, CancellationToken cancellationToken) =>
        (await HiddenAsync([imageId], cancellationToken)).GetValueOrDefault(imageId);

    /// <summary>
    /// The blurred copy of <paramref name="size"/>, made and stored now when this box set has none yet. Throws
    /// <see cref="ImageRejectedException"/> when the stored file cannot be decoded: the caller then publishes nothing.
    /// </summary>
    public async Task<StoredObject> GetAsync(HiddenPhoto photo, string size, CancellationToken cancellationToken)
    {
        if (photo.Made.TryGetValue(size, out var made))
            return made;
        if (!Sizes.Contains(size) || photo.Variants.Get(size) is not { } source)
            throw new ArgumentOutOfRangeException(nameof(size), size, "not a stored size");
        await using var stream = await store.OpenReadAsync(source.Key, cancellationToken)
            ?? throw new ImageRejectedException($"the stored {size} file is missing");
        var bytes = new byte[stream.Length];
        await stream.ReadExactlyAsync(bytes, cancellationToken);

        var (jpeg, width, height) = await Task.Run(() => Blur(bytes, size, photo.Boxes), cancellationToken);
        var key = Key(photo, size);
        await store.PutBytesAsync(key, jpeg, cancellationToken);
        var stored = new StoredObject(key, Variant.ContentType, jpeg.Length, width, height);
        await RecordAsync(photo, size, stored, cancellationToken);
        logger.LogDebug("Blurred the {Size} of photo {Image} for box set {Hash}", size, photo.ImageId, photo.BoxHash);
        return stored;
    }

    private (byte[] Jpeg, int Width, int Height) Blur(byte[] bytes, string size, IReadOnlyList<BoxF> boxes)
    {
        if (size != "original")
            return PrivacyBlur.Jpeg(bytes, boxes, interlace: size == "large");
        // The original: upright full-size pixels first (any stored format), then the boxes hidden.
        if (FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(bytes.Length, FormatSniffer.HeaderBytes))) is not { } format)
            throw new ImageRejectedException("the stored original is not a readable image");
        var path = store.CreateTempPath();
        try
        {
            File.WriteAllBytes(path, bytes);
            var (upright, _, _) = ImageProcessor.FullSizeJpeg(path, format);
            return PrivacyBlur.Jpeg(upright, boxes, quality: 90);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Records a made copy; a row for another box set is replaced and its files deleted from the store.</summary>
    private async Task RecordAsync(HiddenPhoto photo, string size, StoredObject stored, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        // One writer per photo at a time: the row (or, before there is one, the photo's) is locked until commit.
        await db.Database.ExecuteSqlAsync($"SELECT 1 FROM vehicle_images WHERE id = {photo.ImageId} FOR UPDATE", cancellationToken);
        var row = await db.PrivacyBlurSets.SingleOrDefaultAsync(s => s.ImageId == photo.ImageId, cancellationToken);
        var stale = new List<string>();
        if (row is null)
        {
            if (!await db.VehicleImages.AnyAsync(i => i.Id == photo.ImageId, cancellationToken))
            {
                // The photo was deleted meanwhile: its copy goes too.
                await store.DeleteAsync(stored.Key, cancellationToken);
                return;
            }
            db.PrivacyBlurSets.Add(row = new PrivacyBlurSet { ImageId = photo.ImageId, BoxHash = photo.BoxHash, Variants = "{}" });
        }
        var variants = row.BoxHash == photo.BoxHash ? Read(row.Variants) : [];
        if (row.BoxHash != photo.BoxHash)
        {
            stale.AddRange(Read(row.Variants).Values.Select(v => v.Key));
            row.BoxHash = photo.BoxHash;
        }
        variants[size] = stored;
        row.Variants = JsonSerializer.Serialize(variants, Json);
        row.UpdatedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        foreach (var key in stale)
            await store.DeleteAsync(key, cancellationToken);
    }

    /// <summary>Drops the photo's blurred copies (its boxes changed, or the photo is going): the next publish makes new ones.</summary>
    public async Task ForgetAsync(Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.PrivacyBlurSets.SingleOrDefaultAsync(s => s.ImageId == imageId, cancellationToken);
        if (row is null)
            return;
        db.PrivacyBlurSets.Remove(row);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var v in Read(row.Variants).Values)
            await store.DeleteAsync(v.Key, cancellationToken);
    }

    /// <summary>
    /// The box set's hash: kinds and corners rounded to 1/10000 of the image, in a fixed order, so the same boxes always
    /// give the same hash whoever wrote them (a source change alone does not blur anew).
    /// </summary>
    public static string Hash(IEnumerable<BoxF> boxes)
    {
        var text = string.Join(";", boxes
            .Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Kind}:{b.X:0.0000},{b.Y:0.0000},{b.Width:0.0000},{b.Height:0.0000}"))
            .Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>Under the original's content hash, so the orphan sweep removes them with the photo's other files.</summary>
    public static string Key(HiddenPhoto photo, string size)
    {
        var sha = photo.Sha256.Trim(); // a fixed-width column pads a shorter value (the benchmark's cloned rows)
        return $"privacy/{sha[..2]}/{sha}/{photo.ImageId:N}-{photo.BoxHash}/{size}.jpg";
    }

    private static Dictionary<string, StoredObject> Read(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, StoredObject>>(json, Json) ?? [];
}
