using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Imaging;
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

/// <summary>
/// Serves the stored variant, or its blurred copy where the vehicle hides privacy boxes and the photo has some (made once
/// per box set by <see cref="BlurredVariants"/>). When the blurred copy cannot be made, nothing is served: a photo with
/// boxes never leaves clear by accident.
/// </summary>
public sealed class BlurredPublishedImages(
    IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, BlurredVariants blurred, ILogger<BlurredPublishedImages> logger) : IPublishedImages
{
    public static readonly IReadOnlyList<string> Sizes = ["thumb", "medium", "large"];

    public async Task<PublishedImage?> OpenAsync(Guid imageId, string size, CancellationToken cancellationToken)
    {
        if (!Sizes.Contains(size))
            return null;
        StoredObject? variant;
        if (await blurred.HiddenAsync(imageId, cancellationToken) is { } hidden)
        {
            try
            {
                variant = await blurred.GetAsync(hidden, size, cancellationToken);
            }
            catch (ImageRejectedException e)
            {
                logger.LogWarning("Photo {Image} is not published at {Size}: its privacy boxes could not be blurred ({Reason})", imageId, size, e.Message);
                return null;
            }
        }
        else
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var json = await db.VehicleImages.Where(i => i.Id == imageId).Select(i => i.Variants).SingleOrDefaultAsync(cancellationToken);
            variant = VariantSet.FromJson(json)?.Get(size);
        }
        if (variant is null)
            return null;
        var stream = await store.OpenReadAsync(variant.Key, cancellationToken);
        return stream is null ? null : new PublishedImage(stream, variant.ContentType, $"\"{variant.Key}\"", variant.Width, variant.Height);
    }
}
