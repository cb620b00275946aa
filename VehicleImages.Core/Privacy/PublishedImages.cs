using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Privacy;

/// <summary>The bytes of one stored variant as they may leave the app, with what a response needs to describe them.</summary>
public sealed record PublishedImage(Stream Content, string ContentType, string ETag, int? Width, int? Height);

/// <summary>
/// The one door through which a photo's variants leave the app to someone who is not its owner (share pages and their
/// images). Where the vehicle hides privacy boxes and the photo has boxes, the answer is a blurred copy (issue 27: made
/// once per box set and cached); otherwise the stored variant itself. The owner's own gallery and originals never pass here.
/// </summary>
public interface IPublishedImages
{
    /// <summary><paramref name="size"/> is <c>thumb</c>, <c>medium</c> or <c>large</c>; null when the photo or that variant does not exist.</summary>
    Task<PublishedImage?> OpenAsync(Guid imageId, string size, CancellationToken cancellationToken);
}

/// <summary>Serves the stored variants unchanged: the seam the privacy-box blur replaces.</summary>
public sealed class StoredVariantsPublished(IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store) : IPublishedImages
{
    public static readonly IReadOnlyList<string> Sizes = ["thumb", "medium", "large"];

    public async Task<PublishedImage?> OpenAsync(Guid imageId, string size, CancellationToken cancellationToken)
    {
        if (!Sizes.Contains(size))
            return null;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var json = await db.VehicleImages.Where(i => i.Id == imageId).Select(i => i.Variants).SingleOrDefaultAsync(cancellationToken);
        var variant = VariantSet.FromJson(json)?.Get(size);
        if (variant is null)
            return null;
        var stream = await store.OpenReadAsync(variant.Key, cancellationToken);
        return stream is null ? null : new PublishedImage(stream, variant.ContentType, $"\"{variant.Key}\"", variant.Width, variant.Height);
    }
}
