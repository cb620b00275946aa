using NetVips;
using VehicleImages.Core.Imaging;
using Image = NetVips.Image;

namespace VehicleImages.Core.Privacy;

/// <summary>
/// Hides privacy boxes in an upright image: each box padded by <see cref="Padding"/> of its longer side on every side
/// (so a marketplace crop does not reveal an edge of it), pixelated into blocks of a quarter of its shorter side and then
/// blurred with a Gaussian whose sigma is a fifth of it, so the result scales with the box and cannot be read back
/// (PrivacyBlurTests proves it with tesseract). Outside the padded boxes the pixels are untouched (before the JPEG encode).
/// </summary>
public static class PrivacyBlur
{
    public const double Padding = 0.10;
    public const int JpegQuality = 82;

    /// <summary>The padded box in pixels of a <paramref name="width"/> × <paramref name="height"/> image, clipped to it; null when nothing is left.</summary>
    public static (int Left, int Top, int Width, int Height)? Pixels(BoxF box, int width, int height)
    {
        var pad = Padding * Math.Max(box.Width * width, box.Height * height);
        var left = (int)Math.Floor(Math.Max(0, box.X * width - pad));
        var top = (int)Math.Floor(Math.Max(0, box.Y * height - pad));
        var right = (int)Math.Ceiling(Math.Min(width, (box.X + box.Width) * width + pad));
        var bottom = (int)Math.Ceiling(Math.Min(height, (box.Y + box.Height) * height + pad));
        return right - left < 1 || bottom - top < 1 ? null : (left, top, right - left, bottom - top);
    }

    /// <summary>The image with every box hidden; the caller disposes the result (a new image, or <paramref name="image"/> untouched when no box is inside it).</summary>
    public static Image Apply(Image image, IReadOnlyList<BoxF> boxes)
    {
        var current = image;
        foreach (var box in boxes)
        {
            if (Pixels(box, image.Width, image.Height) is not { } r)
                continue;
            using var region = current.Crop(r.Left, r.Top, r.Width, r.Height);
            using var hidden = Hide(region);
            var next = current.Insert(hidden, r.Left, r.Top);
            if (!ReferenceEquals(current, image))
                current.Dispose();
            current = next;
        }
        return ReferenceEquals(current, image) ? image.Copy() : current;
    }

    private static Image Hide(Image region)
    {
        var shorter = Math.Min(region.Width, region.Height);
        var block = Math.Max(2, shorter / 4);
        var sigma = Math.Max(1.5, shorter / 5.0);
        // Pixelate: average blocks, then back to the region's size with nearest-neighbour (edges clamp).
        using var small = region.Resize(1.0 / block, vscale: 1.0 / block, kernel: Enums.Kernel.Linear);
        using var blocks = small.Resize((double)region.Width / small.Width, vscale: (double)region.Height / small.Height, kernel: Enums.Kernel.Nearest);
        using var exact = blocks.Width == region.Width && blocks.Height == region.Height
            ? blocks.Copy()
            : blocks.Embed(0, 0, region.Width, region.Height, extend: Enums.Extend.Copy);
        using var blurred = exact.Gaussblur(sigma);
        return blurred.Cast(region.Format);
    }

    /// <summary>An upright JPEG re-encoded with its boxes hidden, sRGB and no metadata; its size.</summary>
    public static (byte[] Jpeg, int Width, int Height) Jpeg(byte[] jpeg, IReadOnlyList<BoxF> boxes, int quality = JpegQuality, bool interlace = false)
    {
        try
        {
            using var image = Image.NewFromBuffer(jpeg, access: Enums.Access.Random);
            using var hidden = Apply(image, boxes);
            return (hidden.JpegsaveBuffer(q: quality, optimizeCoding: true, interlace: interlace, keep: Enums.ForeignKeep.None), hidden.Width, hidden.Height);
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException("the stored image could not be decoded to blur its privacy boxes: " + e.Message.Split('\n')[0], e);
        }
    }
}
