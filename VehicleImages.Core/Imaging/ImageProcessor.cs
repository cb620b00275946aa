using ImageMagick;
using NetVips;
using Image = NetVips.Image;

namespace VehicleImages.Core.Imaging;

public sealed record Variant(string Name, byte[] Bytes, int Width, int Height)
{
    public const string ContentType = "image/jpeg";
}

/// <summary>
/// What ingest keeps of one file. <paramref name="Warnings"/> are things the owner should know about an
/// accepted photo (e.g. the last rows of a truncated JPEG are grey); they are stored with the EXIF.
/// </summary>
public sealed record ProcessedImage(ImageFormat Format, int Width, int Height, ExifInfo Exif, IReadOnlyList<Variant> Variants,
    IReadOnlyList<string> Warnings);

/// <summary>The limits one decode is held to (Upload:MaxPixels, Upload:MaxDecodeBytes).</summary>
public sealed record DecodeLimits(long MaxPixels, long MaxDecodeBytes)
{
    public static DecodeLimits Default { get; } = new(150_000_000, 512L * 1024 * 1024);
}

/// <summary>
/// What the header says, read before any pixel is decoded: the stored size, the EXIF orientation,
/// the memory the decode will need (<see cref="DecodeBytes"/>: the decoder's whole-image buffers,
/// estimated by <see cref="DecodeMemory"/>), whether it is progressive or interlaced, and the raw EXIF
/// block libvips found (used for AVIF, which MetadataExtractor does not read).
/// </summary>
public sealed record ImageHeader(int Width, int Height, int Orientation, int Shrink, long DecodeBytes, bool Interlaced,
    byte[]? ExifBlock)
{
    /// <summary>What kind of decode this is, in words ("interlaced 16-bit PNG"), for a rejection reason.</summary>
    public string Description { get; init; } = "";

    /// <summary>Large decodes hold the whole image in memory and run one at a time.</summary>
    public bool IsLarge => DecodeBytes > DecodeMemory.LargeDecodeBytes;
}

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

    /// <summary>A truncated baseline JPEG is kept when no more than this share of its rows is missing (ADR 012).</summary>
    public const double MaxMissingRowsFraction = 0.05;

    /// <summary>
    /// Reads the header only, before any pixel is decoded: the stored size, the EXIF orientation libvips
    /// found (1 when none, and always 1 for HEIF-family files, whose decoder rotates), and what the
    /// decode will cost in memory.
    /// </summary>
    public static ImageHeader ReadHeader(string path, ImageFormat format)
    {
        try
        {
            if (format == ImageFormat.Heic)
            {
                IsoBmff.CheckComplete(path);
                var info = new MagickImageInfo(path, new MagickReadSettings { Format = MagickFormat.Heic });
                var (w, h) = ((int)info.Width, (int)info.Height);
                return new ImageHeader(w, h, 1, 1, DecodeMemory.Estimate(format, w, h, 3, 8, false, 1, null, 1), false, null)
                    { Description = "HEIC" };
            }

            if (format == ImageFormat.Avif)
                IsoBmff.CheckComplete(path);
            using var image = Load(path, format, shrink: 1, Enums.FailOn.Error);
            var orientation = format != ImageFormat.Avif && image.Contains("orientation") ? (int)image.Get("orientation") : 1;
            var interlaced = image.Contains("interlaced") && (int)image.Get("interlaced") != 0;
            var bits = image.Contains("bits-per-sample") ? (int)image.Get("bits-per-sample")
                : image.Format is Enums.BandFormat.Ushort or Enums.BandFormat.Short ? 16 : 8;
            var chroma = image.Contains("jpeg-chroma-subsample") ? (string)image.Get("jpeg-chroma-subsample") : null;
            var shrink = Shrink(format, image.Width, image.Height);
            var decodeBytes = DecodeMemory.Estimate(format, image.Width, image.Height, image.Bands, bits, interlaced,
                DecodeMemory.ChromaFraction(chroma), format == ImageFormat.Tiff ? TiffBlockRows(path) : null, shrink);
            var exif = image.Contains("exif-data") ? image.Get("exif-data") as byte[] : null;
            return new ImageHeader(image.Width, image.Height, orientation is >= 1 and <= 8 ? orientation : 1, shrink,
                decodeBytes, interlaced, exif) { Description = DecodeMemory.Describe(format, interlaced, bits) };
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

    /// <summary>The pixel limit, then the decode's memory against Upload:MaxDecodeBytes, both from the header alone.</summary>
    public static void CheckLimits(ImageHeader header, DecodeLimits limits)
    {
        CheckPixelLimit(header.Width, header.Height, limits.MaxPixels);
        if (header.DecodeBytes > limits.MaxDecodeBytes)
            throw new ImageRejectedException(
                $"image is a {header.Width}×{header.Height} {header.Description}: decoding it would need about " +
                $"{Mib(header.DecodeBytes)} of memory, more than the {Mib(limits.MaxDecodeBytes)} allowed. " +
                "Save it at a smaller size, or as a baseline (non-progressive, non-interlaced) JPEG or PNG, and upload it again.");

        static string Mib(long bytes) => $"{Math.Ceiling(bytes / (1024.0 * 1024)):0} MiB";
    }

    /// <summary>Header check, one decode and the variants. Throws <see cref="ImageRejectedException"/> with the reason.</summary>
    public static ProcessedImage Process(string path, ImageFormat format, long maxPixels) =>
        Process(path, format, DecodeLimits.Default with { MaxPixels = maxPixels });

    /// <inheritdoc cref="Process(string, ImageFormat, long)"/>
    public static ProcessedImage Process(string path, ImageFormat format, DecodeLimits limits)
    {
        var header = ReadHeader(path, format);
        CheckLimits(header, limits);
        return Process(path, format, header);
    }

    /// <summary>The decode and the variants, for a header already read and checked (<see cref="CheckLimits"/>).</summary>
    public static ProcessedImage Process(string path, ImageFormat format, ImageHeader header)
    {
        var exif = ExifReader.Read(path);
        // MetadataExtractor does not parse AVIF; libvips hands over the same EXIF block, parsed the same way.
        if (format == ImageFormat.Avif && header.ExifBlock is { } block)
            exif = ExifReader.ReadExifBlock(block);
        var (width, height) = (header.Width, header.Height);

        try
        {
            if (format == ImageFormat.Heic)
            {
                var (heic, w, h) = DecodeHeic(path);
                using (heic)
                    return new ProcessedImage(format, w, h, exif, MakeVariants(heic), []);
            }

            // Orientations 5-8 turn the picture a quarter: a viewer shows it with sides swapped.
            var (orientedWidth, orientedHeight) = header.Orientation >= 5 ? (height, width) : (width, height);
            List<string> warnings = [];
            Image decoded;
            try
            {
                decoded = DecodeWithVips(path, format, header.Shrink, Enums.FailOn.Error);
            }
            catch (VipsException e) when (format == ImageFormat.Jpeg && !header.Interlaced && IsTruncation(e.Message))
            {
                decoded = DecodeTruncatedJpeg(path, header, warnings);
            }

            using (decoded)
                return new ProcessedImage(format, orientedWidth, orientedHeight, exif, MakeVariants(decoded), warnings);
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

    /// <summary>
    /// A baseline JPEG whose data ends early: libjpeg fills every block after the cut with zero
    /// coefficients, so the missing rows come out flat grey. Decoded at 1/8 (one pixel per 8×8 block,
    /// cheap), the rows at the bottom that all equal the very last pixel are the missing ones. Up to
    /// <see cref="MaxMissingRowsFraction"/> of the rows missing, the photo is kept with a warning (a
    /// person would rather have the photo with a grey strip than nothing); beyond that it is refused.
    /// </summary>
    private static Image DecodeTruncatedJpeg(string path, ImageHeader header, List<string> warnings)
    {
        // Unknown when libvips gives up: it stops after 100 decoder warnings, one per lost restart interval.
        var missingRows = MissingJpegRows(path, header.Height)
            ?? throw new ImageRejectedException("truncated file: the image data ends early (was the upload or the copy interrupted?).");
        var fraction = missingRows / (double)header.Height;
        if (fraction > MaxMissingRowsFraction)
            throw new ImageRejectedException(
                $"truncated file: the image data ends early and about {Math.Ceiling(fraction * 100):0}% of the picture " +
                $"(the last {missingRows} of {header.Height} rows) is missing (was the upload or the copy interrupted?).");

        warnings.Add(missingRows == 0
            ? "the file ends early (its end marker is missing), but every row of the picture is there."
            : $"the file ends early: the last {missingRows} of {header.Height} rows ({fraction * 100:0.#}%) are missing and show grey.");
        // Random access: libvips' sequential reader gives up after 100 decoder warnings (one per lost restart
        // interval), the in-memory one does not. At the shrunk size this is at most a few tens of MB.
        return DecodeWithVips(path, ImageFormat.Jpeg, header.Shrink, Enums.FailOn.None, Enums.Access.Random);
    }

    /// <summary>
    /// Rows at the bottom of a truncated baseline JPEG that carry no data, to the nearest 8; null when
    /// libvips cannot read even that far (it gives up after 100 decoder warnings).
    /// </summary>
    public static int? MissingJpegRows(string path, int height)
    {
        byte[] pixels;
        int w, h, bands;
        try
        {
            using var blocks = Image.Jpegload(path, shrink: 8, access: Enums.Access.Random, failOn: Enums.FailOn.None);
            using var flat = blocks.Cast(Enums.BandFormat.Uchar);
            (w, h, bands) = (flat.Width, flat.Height, flat.Bands);
            pixels = flat.WriteToMemory<byte>();
        }
        catch (VipsException)
        {
            return null;
        }

        var last = pixels.AsSpan(pixels.Length - bands, bands).ToArray();
        var rows = 0;
        for (var y = h - 1; y >= 0; y--)
        {
            var row = pixels.AsSpan(y * w * bands, w * bands);
            var same = true;
            for (var i = 0; i < row.Length && same; i++)
                same = Math.Abs(row[i] - last[i % bands]) <= 1;
            if (!same)
                break;
            rows++;
        }

        // A whole picture of one flat colour has no data to tell by: count it as all missing.
        return (int)Math.Min(height, Math.Round(rows * (double)height / h));
    }

    private static bool IsTruncation(string message)
    {
        var m = message.ToLowerInvariant();
        return m.Contains("premature end") || m.Contains("truncat") || m.Contains("unexpected end") || m.Contains("out of data")
            || m.Contains("end of file");
    }

    /// <summary>JPEG shrink-on-load and WebP scaled decoding: 1/2, 1/4, 1/8 while the large variant still needs no upscaling.</summary>
    private static int Shrink(ImageFormat format, int width, int height)
    {
        var shrink = 1;
        if (format is ImageFormat.Jpeg or ImageFormat.WebP)
            while (shrink < 8 && Math.Max(width, height) / (shrink * 2) >= Sizes[0].LongEdge)
                shrink *= 2;
        return shrink;
    }

    /// <summary>TIFF rows per strip (or tile height): how many rows libtiff decodes at once.</summary>
    private static long? TiffBlockRows(string path)
    {
        try
        {
            var ifd0 = MetadataExtractor.ImageMetadataReader.ReadMetadata(path)
                .OfType<MetadataExtractor.Formats.Exif.ExifIfd0Directory>().FirstOrDefault();
            if (ifd0 is null)
                return null;
            // 0x0143 TileLength, 0x0116 RowsPerStrip
            foreach (var tag in new[] { 0x0143, 0x0116 })
                if (MetadataExtractor.DirectoryExtensions.TryGetInt64(ifd0, tag, out var rows) && rows > 0)
                    return rows;
            return null;
        }
        catch (Exception e) when (e is MetadataExtractor.ImageProcessingException or IOException)
        {
            return null;
        }
    }

    /// <summary>The one decode: oriented, 8-bit sRGB, no larger than the large variant, in memory.</summary>
    private static Image DecodeWithVips(string path, ImageFormat format, int shrink, Enums.FailOn failOn,
        Enums.Access access = Enums.Access.Sequential)
    {
        // Shrink-on-load (JPEG, WebP): the whole entropy-coded stream is still read, so truncation is still caught.
        using var loaded = Load(path, format, shrink, failOn, access);
        using var srgb = ToSrgb8(loaded);
        // Materialise here: this is the decode, and it must fail on truncated or corrupt data now.
        // Loading is sequential (streamed, small memory), so rotation comes after, on the in-memory image.
        // Every intermediate is disposed here, not left to the finalizer: the pipeline behind it holds the
        // loader, and a progressive JPEG's loader holds hundreds of MB of coefficients until it is unreferenced.
        using var sized = srgb.ThumbnailImage(Sizes[0].LongEdge, height: Sizes[0].LongEdge, size: Enums.Size.Down);
        using var large = sized.CopyMemory();
        // HEIF-family containers carry their own rotation, applied by the decoder: never rotate twice.
        return format == ImageFormat.Avif ? large.Copy() : large.Autorot();
    }

    private static Image Load(string path, ImageFormat format, int shrink, Enums.FailOn failOn,
        Enums.Access access = Enums.Access.Sequential) => format switch
    {
        ImageFormat.Jpeg => Image.Jpegload(path, shrink: shrink, access: access, failOn: failOn),
        ImageFormat.Png => Image.Pngload(path, access: Enums.Access.Sequential, failOn: failOn),
        ImageFormat.WebP => Image.Webpload(path, scale: 1.0 / shrink, access: Enums.Access.Sequential, failOn: failOn),
        ImageFormat.Gif => Image.Gifload(path, access: Enums.Access.Sequential, failOn: failOn),
        ImageFormat.Tiff => Image.Tiffload(path, access: Enums.Access.Sequential, failOn: failOn),
        ImageFormat.Avif => Image.Heifload(path, access: Enums.Access.Sequential, failOn: failOn),
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
            Image sized;
            if (source.Width <= longEdge && source.Height <= longEdge)
                sized = source;
            else
            {
                using var pipeline = source.ThumbnailImage(longEdge, height: longEdge, size: Enums.Size.Down);
                sized = pipeline.CopyMemory();
            }

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

    /// <summary>
    /// The photo at full size as a JPEG with no metadata, sRGB, orientation applied: what an export gives for an original
    /// that is not a JPEG. Throws <see cref="ImageRejectedException"/> when the stored file cannot be decoded.
    /// </summary>
    public static (byte[] Jpeg, int Width, int Height) FullSizeJpeg(string path, ImageFormat format)
    {
        try
        {
            if (format == ImageFormat.Heic)
            {
                using var magick = new MagickImage(path, new MagickReadSettings { Format = MagickFormat.Heic });
                magick.ColorSpace = ColorSpace.sRGB;
                magick.Alpha(AlphaOption.Remove);
                magick.Strip();
                magick.Quality = 90;
                magick.Format = MagickFormat.Jpeg;
                return (magick.ToByteArray(), (int)magick.Width, (int)magick.Height);
            }

            using var loaded = Load(path, format, 1, Enums.FailOn.Error, Enums.Access.Random);
            using var srgb = ToSrgb8(loaded);
            using var upright = format == ImageFormat.Avif ? srgb.Copy() : srgb.Autorot();
            return (upright.JpegsaveBuffer(q: 90, optimizeCoding: true, keep: Enums.ForeignKeep.None), upright.Width, upright.Height);
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException(DescribeDecodeFailure(e.Message), e);
        }
        catch (MagickException e)
        {
            throw new ImageRejectedException("HEIC file could not be decoded.", e);
        }
    }

    /// <summary>A stored JPEG made smaller: long edge at most <paramref name="longEdge"/>, sRGB, no metadata.</summary>
    public static (byte[] Jpeg, int Width, int Height) Smaller(byte[] jpeg, int longEdge)
    {
        try
        {
            using var sized = Image.ThumbnailBuffer(jpeg, longEdge, height: longEdge, size: Enums.Size.Down);
            using var srgb = ToSrgb8(sized);
            return (srgb.JpegsaveBuffer(q: JpegQuality, optimizeCoding: true, keep: Enums.ForeignKeep.None), srgb.Width, srgb.Height);
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException(DescribeDecodeFailure(e.Message), e);
        }
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
        // Down to the large variant's size inside ImageMagick, so the only full-size copies are libheif's and
        // ImageMagick's own (measured: 10.9 bytes per pixel with a full-size RGB export, 7.9-8.9 without).
        if (Math.Max(width, height) > Sizes[0].LongEdge)
            magick.Resize(new MagickGeometry((uint)Sizes[0].LongEdge, (uint)Sizes[0].LongEdge) { Greater = true });
        using var pixels = magick.GetPixelsUnsafe();
        var rgb = pixels.ToByteArray(PixelMapping.RGB) ?? throw new MagickCorruptImageErrorException("no pixels");
        using var large = Image.NewFromMemory(rgb, (int)magick.Width, (int)magick.Height, 3, Enums.BandFormat.Uchar);
        using var srgb = large.Copy(interpretation: Enums.Interpretation.Srgb);
        return (srgb.CopyMemory(), width, height);
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
