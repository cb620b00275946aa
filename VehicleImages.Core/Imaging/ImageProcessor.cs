using ImageMagick;
using NetVips;
using Image = NetVips.Image;

namespace VehicleImages.Core.Imaging;

public sealed record Variant(string Name, byte[] Bytes, int Width, int Height)
{
    public const string ContentType = "image/jpeg";
}

public sealed record ProcessedImage(ImageFormat Format, int Width, int Height, ExifInfo Exif, IReadOnlyList<Variant> Variants);

/// <summary>
/// Turns an uploaded file into what we keep: checked header, one decode, EXIF, three variants.
///
/// Order, cheapest first: the format from the bytes; the header's size against the pixel limit
/// before any pixel is decoded; then one decode that fails on truncation or corruption, from which
/// every variant is made (large from the decode, medium from large, thumb from medium).
///
/// Variants are JPEG: every OpenAI-compatible vision server accepts it (several local ones do not
/// take WebP), libjpeg-turbo encodes several times faster than libwebp, and at quality 82 the
/// difference in size (WebP ~25% smaller) matters less than both. They carry no metadata at all.
/// </summary>
public static class ImageProcessor
{
    public static readonly (string Name, int LongEdge)[] Sizes = [("large", 2048), ("medium", 1024), ("thumb", 320)];
    private const int JpegQuality = 82;

    static ImageProcessor()
    {
        // Loaders and savers marked untrusted (e.g. those built on ImageMagick or matio) never run.
        NetVips.NetVips.BlockUntrusted = true;
        // Memory, not files: each upload is decoded once and never reopened.
        Cache.Max = 0;
        MagickConfigure();
    }

    /// <summary>
    /// Reads the header only, before any pixel is decoded: the stored size and the EXIF orientation
    /// libvips found (1 when none, and always 1 for HEIF-family files, whose decoder rotates).
    /// </summary>
    public static (int Width, int Height, int Orientation) ReadHeader(string path, ImageFormat format)
    {
        try
        {
            if (format == ImageFormat.Heic)
            {
                var info = new MagickImageInfo(path, new MagickReadSettings { Format = MagickFormat.Heic });
                return ((int)info.Width, (int)info.Height, 1);
            }

            using var image = Load(path, format, shrink: 1);
            var orientation = format != ImageFormat.Avif && image.Contains("orientation") ? (int)image.Get("orientation") : 1;
            return (image.Width, image.Height, orientation is >= 1 and <= 8 ? orientation : 1);
        }
        catch (Exception e) when (e is VipsException or MagickException)
        {
            throw new ImageRejectedException(format == ImageFormat.Heic
                ? "HEIC file could not be decoded: its header is unreadable."
                : "not an image we can read: its header is damaged or it is not really a " + format.ToString().ToUpperInvariant() + " file.", e);
        }
    }

    public static void CheckPixelLimit(int width, int height, long maxPixels)
    {
        if (width <= 0 || height <= 0)
            throw new ImageRejectedException("not an image we can read: it declares no pixels.");
        if ((long)width * height > maxPixels)
            throw new ImageRejectedException(
                $"image is {width}×{height}, larger than the {maxPixels / 1_000_000.0:0.#} megapixel limit.");
    }

    /// <summary>Header check, one decode and the variants. Throws <see cref="ImageRejectedException"/> with the reason.</summary>
    public static ProcessedImage Process(string path, ImageFormat format, long maxPixels)
    {
        var (width, height, orientation) = ReadHeader(path, format);
        CheckPixelLimit(width, height, maxPixels);
        var exif = ExifReader.Read(path);

        try
        {
            if (format == ImageFormat.Heic)
            {
                var (heic, w, h) = DecodeHeic(path);
                using (heic)
                    return new ProcessedImage(format, w, h, exif, MakeVariants(heic));
            }

            // Orientations 5-8 turn the picture a quarter: a viewer shows it with sides swapped.
            var (orientedWidth, orientedHeight) = orientation >= 5 ? (height, width) : (width, height);
            using var decoded = DecodeWithVips(path, format, width, height);
            return new ProcessedImage(format, orientedWidth, orientedHeight, exif, MakeVariants(decoded));
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException(DescribeDecodeFailure(e.Message), e);
        }
        catch (MagickException e)
        {
            // ImageMagick's messages name the file it read (our temporary path) and its own source lines.
            throw new ImageRejectedException("HEIC file could not be decoded: the image data is damaged or uses a feature the decoder does not support.", e);
        }
    }

    /// <summary>The one decode: oriented, 8-bit sRGB, no larger than the large variant, in memory.</summary>
    private static Image DecodeWithVips(string path, ImageFormat format, int width, int height)
    {
        // JPEG shrink-on-load: decode at 1/2, 1/4 or 1/8 while the large variant still needs no upscaling.
        // The whole entropy-coded stream is still read, so truncation is still caught.
        var shrink = 1;
        if (format == ImageFormat.Jpeg)
            while (shrink < 8 && Math.Max(width, height) / (shrink * 2) >= Sizes[0].LongEdge)
                shrink *= 2;

        using var loaded = Load(path, format, shrink);
        using var srgb = ToSrgb8(loaded);
        // Materialise here: this is the decode, and it must fail on truncated or corrupt data now.
        // Loading is sequential (streamed, small memory), so rotation comes after, on the in-memory image.
        using var large = srgb.ThumbnailImage(Sizes[0].LongEdge, height: Sizes[0].LongEdge, size: Enums.Size.Down).CopyMemory();
        // HEIF-family containers carry their own rotation, applied by the decoder: never rotate twice.
        return format == ImageFormat.Avif ? large.Copy() : large.Autorot();
    }

    private static Image Load(string path, ImageFormat format, int shrink) => format switch
    {
        ImageFormat.Jpeg => Image.Jpegload(path, shrink: shrink, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        ImageFormat.Png => Image.Pngload(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        ImageFormat.WebP => Image.Webpload(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        ImageFormat.Gif => Image.Gifload(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        ImageFormat.Tiff => Image.Tiffload(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        ImageFormat.Avif => Image.Heifload(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a libvips format here"),
    };

    /// <summary>8-bit sRGB without alpha (flattened on white), whatever the source's depth or colour space.</summary>
    private static Image ToSrgb8(Image image)
    {
        var current = image.Copy();
        if (current.Interpretation is not (Enums.Interpretation.Srgb or Enums.Interpretation.Bw))
            current = Replace(current, current.Colourspace(Enums.Interpretation.Srgb));
        if (current.HasAlpha())
            current = Replace(current, current.Flatten(background: [255, 255, 255]));
        if (current.Bands < 3)
            current = Replace(current, current.Colourspace(Enums.Interpretation.Srgb));
        if (current.Format != Enums.BandFormat.Uchar)
            current = Replace(current, current.Cast(Enums.BandFormat.Uchar));
        return current;
    }

    private static Image Replace(Image old, Image next)
    {
        old.Dispose();
        return next;
    }

    private static IReadOnlyList<Variant> MakeVariants(Image decoded)
    {
        var variants = new List<Variant>(Sizes.Length);
        var source = decoded;
        foreach (var (name, longEdge) in Sizes)
        {
            var sized = source.Width <= longEdge && source.Height <= longEdge
                ? source
                : source.ThumbnailImage(longEdge, height: longEdge, size: Enums.Size.Down).CopyMemory();
            var bytes = sized.JpegsaveBuffer(q: JpegQuality, optimizeCoding: true, interlace: name == "large",
                keep: Enums.ForeignKeep.None);
            variants.Add(new Variant(name, bytes, sized.Width, sized.Height));
            if (!ReferenceEquals(source, decoded) && !ReferenceEquals(source, sized))
                source.Dispose();
            source = sized;
        }

        if (!ReferenceEquals(source, decoded))
            source.Dispose();
        return variants;
    }

    private static (Image Large, int Width, int Height) DecodeHeic(string path)
    {
        // libheif (inside Magick.NET) applies the container's rotation and mirroring itself, so the
        // decoded size is what a viewer shows and nothing is rotated again.
        using var magick = new MagickImage(path, new MagickReadSettings { Format = MagickFormat.Heic });
        magick.ColorSpace = ColorSpace.sRGB;
        magick.Alpha(AlphaOption.Remove);
        var width = (int)magick.Width;
        var height = (int)magick.Height;
        using var pixels = magick.GetPixelsUnsafe();
        var rgb = pixels.ToByteArray(PixelMapping.RGB) ?? throw new MagickCorruptImageErrorException("no pixels");
        using var full = Image.NewFromMemory(rgb, width, height, 3, Enums.BandFormat.Uchar);
        using var srgb = full.Copy(interpretation: Enums.Interpretation.Srgb);
        var large = srgb.ThumbnailImage(Sizes[0].LongEdge, height: Sizes[0].LongEdge, size: Enums.Size.Down).CopyMemory();
        return (large, width, height);
    }

    private static void MagickConfigure()
    {
        // Magick.NET reads HEIC only. Its own limits guard against files that lie about their size
        // (the pixel check runs first, but a decoder must not trust the header alone).
        ResourceLimits.Width = 40_000;
        ResourceLimits.Height = 40_000;
        ResourceLimits.Area = 200_000_000;
        ResourceLimits.Memory = 1024UL * 1024 * 1024;
        ResourceLimits.ListLength = 8;
    }

    private static string DescribeDecodeFailure(string message)
    {
        var m = message.ToLowerInvariant();
        if (m.Contains("premature end") || m.Contains("truncat") || m.Contains("unexpected end") || m.Contains("out of data")
            || m.Contains("not enough") || m.Contains("read error") || m.Contains("end of file"))
            return "truncated file: the image data ends early (was the upload or the copy interrupted?).";
        return "not an image we can read: the image data is corrupt (" + FirstLine(message) + ").";
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return line.Length > 160 ? line[..160] + "…" : line;
    }
}
