namespace VehicleImages.Core.Imaging;

/// <summary>
/// How much memory a decode will hold, estimated from the header alone, so that a small file that
/// decodes to a huge buffer is refused (or queued behind the one other large decode) before it is read.
///
/// Streaming loaders (baseline JPEG, non-interlaced PNG, TIFF in small strips or tiles) hold a few rows
/// at a time. The others hold the whole image in the decoder's own buffers, whatever libvips asks for:
/// libjpeg keeps every DCT coefficient of a progressive JPEG (2 bytes per coefficient, full resolution
/// even with shrink-on-load), libspng the whole de-interlaced image, libnsgif an RGBA frame, libwebp
/// its YUV planes and an RGBA frame, libheif (AVIF, and HEIC through Magick.NET) the decoded planes,
/// the RGB image and, for HEIC, ImageMagick's pixel cache.
///
/// The bytes per pixel below were measured on this build (libvips 8.18.7, Magick.NET-Q8 14.17.2):
/// peak RSS of one decode minus RSS before it, on 24-megapixel files (12 for HEIC), less the ~1.7 bytes
/// per pixel a streaming baseline JPEG of the same size costs. See docs/decisions/012-ingest-limits.md.
/// </summary>
public static class DecodeMemory
{
    public const double GifBytesPerPixel = 6;
    public const double WebPBytesPerPixel = 8;
    public const double AvifBytesPerPixel = 12;
    public const double HeicBytesPerPixel = 10;

    /// <summary>Decodes estimated above this run one at a time (the rest is streaming and small).</summary>
    public const long LargeDecodeBytes = 64L * 1024 * 1024;

    /// <param name="bands">bands after the loader's own expansion (a palette PNG comes out RGB or RGBA).</param>
    /// <param name="bitsPerSample">8 or 16 (PNG, TIFF, AVIF above 8 bits come out as 16-bit samples).</param>
    /// <param name="chromaFraction">JPEG: the size of each chroma plane relative to luma (4:2:0 = 0.25, 4:4:4 = 1).</param>
    /// <param name="blockRows">TIFF: rows per strip or tile; null when unknown (taken as the whole image).</param>
    /// <param name="shrink">the loader's own shrink-on-load factor (WebP decodes scaled; JPEG coefficients do not shrink).</param>
    public static long Estimate(ImageFormat format, int width, int height, int bands, int bitsPerSample, bool interlaced,
        double chromaFraction, long? blockRows, int shrink)
    {
        var pixels = (double)width * height;
        var sampleBytes = bitsPerSample > 8 ? 2 : 1;
        var bytes = format switch
        {
            // A progressive JPEG's coefficients: luma plus the chroma planes, 2 bytes each, at full size.
            ImageFormat.Jpeg when interlaced => pixels * 2 * (1 + Math.Max(0, bands - 1) * chromaFraction),
            ImageFormat.Jpeg => width * 16.0 * bands, // one MCU row
            ImageFormat.Png when interlaced => pixels * bands * sampleBytes,
            ImageFormat.Png => width * 2.0 * bands * sampleBytes, // this row and the previous one (filters)
            // libtiff decodes a whole strip or tile row at a time; a single-strip TIFF is the whole image.
            ImageFormat.Tiff => (double)width * Math.Min(blockRows ?? height, height) * bands * sampleBytes,
            ImageFormat.Gif => pixels * GifBytesPerPixel,
            ImageFormat.WebP => pixels / ((double)shrink * shrink) * WebPBytesPerPixel,
            ImageFormat.Avif => pixels * AvifBytesPerPixel * sampleBytes,
            ImageFormat.Heic => pixels * HeicBytesPerPixel,
            _ => pixels * 16,
        };
        return (long)Math.Ceiling(bytes);
    }

    /// <summary>Chroma plane size relative to luma from libvips' "jpeg-chroma-subsample" ("4:2:0", …); unknown counts as full.</summary>
    public static double ChromaFraction(string? subsample) => subsample switch
    {
        "4:2:0" or "4:1:1" => 0.25,
        "4:2:2" or "4:4:0" => 0.5,
        _ => 1,
    };

    /// <summary>How a person would say what kind of decode this is, for the rejection reason.</summary>
    public static string Describe(ImageFormat format, bool interlaced, int bitsPerSample) => format switch
    {
        ImageFormat.Jpeg when interlaced => "progressive JPEG",
        ImageFormat.Png when interlaced => $"interlaced {bitsPerSample}-bit PNG",
        ImageFormat.Png => $"{bitsPerSample}-bit PNG",
        ImageFormat.Tiff => "TIFF in large strips",
        ImageFormat.Heic => "HEIC",
        ImageFormat.Avif => "AVIF",
        ImageFormat.WebP => "WebP",
        ImageFormat.Gif => "GIF",
        _ => format.ToString().ToUpperInvariant(),
    };
}
