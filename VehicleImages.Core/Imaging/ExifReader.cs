using System.Globalization;
using System.Text.Json.Nodes;
using MetadataExtractor;
using MetadataExtractor.Formats.Exif;
using MdDirectory = MetadataExtractor.Directory;

namespace VehicleImages.Core.Imaging;

/// <summary>
/// What a photo's EXIF says, cleaned: a value that is missing, malformed or impossible is null rather
/// than wrong, because these values end up in the gallery, in reports by month and on maps.
/// </summary>
public sealed record ExifInfo
{
    /// <summary>
    /// When the photo was taken: DateTimeOriginal, else DateTimeDigitized, else IFD0 DateTime, each with
    /// its own offset tag. Without an offset the wall-clock time is taken as UTC, since the zone is unknown.
    /// </summary>
    public DateTimeOffset? TakenAt { get; init; }

    /// <summary>The DateTimeOriginal tag as written ("YYYY:MM:DD HH:MM:SS"), only when it is a possible date.
    /// It stays null when <see cref="TakenAt"/> came from a fallback tag, so it always means what exiftool means by it.</summary>
    public string? DateTimeOriginal { get; init; }

    /// <summary>The OffsetTimeOriginal tag ("+02:00") when present and a real UTC offset.</summary>
    public string? OffsetTimeOriginal { get; init; }

    public double? GpsLatitude { get; init; }
    public double? GpsLongitude { get; init; }

    /// <summary>Metres, negative below sea level; only reported beside a valid latitude and longitude.</summary>
    public double? GpsAltitude { get; init; }

    public string? Make { get; init; }
    public string? Model { get; init; }
    public string? LensModel { get; init; }

    /// <summary>
    /// EXIF orientation 1..8; null means "treat as 1". For HEIF/AVIF the container's own rotation (irot/imir)
    /// is what decoders apply, so there this value is informational and must not be applied a second time.
    /// </summary>
    public int? Orientation { get; init; }

    public double? ExposureTimeSeconds { get; init; }
    public double? FNumber { get; init; }
    public int? Iso { get; init; }
    public double? FocalLengthMm { get; init; }

    public static ExifInfo Empty { get; } = new();

    /// <summary>The <c>exif</c> object of the API and of <c>vehicle_images.exif_data</c>: camelCase, nulls left out.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        // EXIF has whole seconds only; keeping the original offset shows the photographer's local time.
        Add(json, "takenAt", TakenAt?.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture));
        Add(json, "dateTimeOriginal", DateTimeOriginal);
        Add(json, "offsetTimeOriginal", OffsetTimeOriginal);
        Add(json, "gpsLatitude", GpsLatitude);
        Add(json, "gpsLongitude", GpsLongitude);
        Add(json, "gpsAltitude", GpsAltitude);
        Add(json, "make", Make);
        Add(json, "model", Model);
        Add(json, "lensModel", LensModel);
        Add(json, "orientation", Orientation);
        Add(json, "exposureTime", ExposureTimeSeconds);
        Add(json, "fNumber", FNumber);
        Add(json, "iso", Iso);
        Add(json, "focalLength", FocalLengthMm);
        return json;
    }

    private static void Add(JsonObject json, string key, string? value)
    {
        if (value is not null)
            json[key] = value;
    }

    private static void Add(JsonObject json, string key, double? value)
    {
        if (value is { } number)
            json[key] = number;
    }

    private static void Add(JsonObject json, string key, int? value)
    {
        if (value is { } number)
            json[key] = number;
    }
}

/// <summary>Reads <see cref="ExifInfo"/> from any format MetadataExtractor understands (JPEG, PNG, WebP, TIFF, HEIF/HEIC), or from a raw EXIF block (AVIF, through libvips).</summary>
public static class ExifReader
{
    private const int MaxTextLength = 200;

    /// <summary>Opening the file may throw (missing file, no permission): that is the caller's problem, not bad metadata.</summary>
    public static ExifInfo Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>
    /// Reads from the stream's current position and, when the stream can seek, puts the position back so the
    /// caller can go on to decode the same stream. Never throws for bad metadata: a malformed EXIF block yields
    /// <see cref="ExifInfo.Empty"/> or whatever could be read.
    /// </summary>
    public static ExifInfo Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            // MetadataExtractor seeks to detect the file type and to follow HEIF item offsets.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            return FromDirectories(ReadDirectories(copy));
        }

        var start = stream.Position;
        try
        {
            return FromDirectories(ReadDirectories(stream));
        }
        finally
        {
            stream.Position = start;
        }
    }

    /// <summary>
    /// Reads a raw EXIF block (a TIFF structure, with or without the "Exif\0\0" preamble), as libvips
    /// hands it over in its "exif-data" field: for formats MetadataExtractor cannot open itself (AVIF).
    /// </summary>
    public static ExifInfo ReadExifBlock(byte[] block)
    {
        ArgumentNullException.ThrowIfNull(block);
        try
        {
            var start = MetadataExtractor.Formats.Exif.ExifReader.StartsWithJpegExifPreamble(block)
                ? MetadataExtractor.Formats.Exif.ExifReader.JpegSegmentPreamble.Length
                : 0;
            var directories = new MetadataExtractor.Formats.Exif.ExifReader().Extract(new MetadataExtractor.IO.ByteArrayReader(block, start));
            return FromDirectories(directories);
        }
        catch (Exception e) when (IsMalformedInput(e))
        {
            return ExifInfo.Empty;
        }
    }

    private static IReadOnlyList<MdDirectory> ReadDirectories(Stream stream)
    {
        try
        {
            return ImageMetadataReader.ReadMetadata(stream);
        }
        catch (Exception e) when (IsMalformedInput(e))
        {
            return [];
        }
    }

    // MetadataExtractor reports most bad input as ImageProcessingException or IOException, but fuzzed files
    // also escape from its readers as index, argument, overflow or cast errors.
    private static bool IsMalformedInput(Exception e) => e is ImageProcessingException or IOException
        or ArgumentException or IndexOutOfRangeException or OverflowException or InvalidCastException
        or FormatException or DivideByZeroException or NotSupportedException or InvalidOperationException
        or NullReferenceException or MetadataException;

    private static ExifInfo FromDirectories(IReadOnlyList<MdDirectory> directories)
    {
        var ifd0 = directories.OfType<ExifIfd0Directory>().ToArray();
        // Sub-IFD first, IFD0 second: some writers put Exif-IFD tags (dates, offsets, lens) into IFD0.
        MdDirectory[] exif = [.. directories.OfType<ExifSubIfdDirectory>(), .. ifd0];
        var gps = directories.OfType<GpsDirectory>().ToArray();

        var original = Guard(() => First(exif, ExifDirectoryBase.TagDateTimeOriginal, ParseDate));
        var originalOffset = Guard(() => First(exif, ExifDirectoryBase.TagTimeZoneOriginal, ParseOffset));
        var location = Guard(() => ReadLocation(gps));

        return new ExifInfo
        {
            TakenAt = Guard(() => TakenAt(exif, original, originalOffset)),
            DateTimeOriginal = original?.Raw,
            OffsetTimeOriginal = originalOffset?.Raw,
            GpsLatitude = location?.Latitude,
            GpsLongitude = location?.Longitude,
            GpsAltitude = location?.Altitude,
            Make = Guard(() => First(ifd0, ExifDirectoryBase.TagMake, CleanText)),
            Model = Guard(() => First(ifd0, ExifDirectoryBase.TagModel, CleanText)),
            LensModel = Guard(() => First(exif, ExifDirectoryBase.TagLensModel, CleanText)),
            Orientation = Guard(() => FirstNumber(ifd0, ExifDirectoryBase.TagOrientation, v => v is >= 1 and <= 8 && v == Math.Floor(v) ? (int)v : (int?)null)),
            ExposureTimeSeconds = Guard(() => FirstNumber(exif, ExifDirectoryBase.TagExposureTime, v => InRange(v, 3600))),
            FNumber = Guard(() => FirstNumber(exif, ExifDirectoryBase.TagFNumber, v => InRange(v, 1000))),
            Iso = Guard(() => FirstNumber(exif, ExifDirectoryBase.TagIsoEquivalent, v => InRange(v, 10_000_000) is { } iso and >= 1 ? (int)iso : (int?)null)),
            FocalLengthMm = Guard(() => FirstNumber(exif, ExifDirectoryBase.TagFocalLength, v => InRange(v, 10_000))),
        };
    }

    private static DateTimeOffset? TakenAt(MdDirectory[] exif, ExifDate? original, ExifOffset? originalOffset)
    {
        if (original is not null)
            return At(original, originalOffset);
        if (First(exif, ExifDirectoryBase.TagDateTimeDigitized, ParseDate) is { } digitized)
            return At(digitized, First(exif, ExifDirectoryBase.TagTimeZoneDigitized, ParseOffset));
        if (First(exif, ExifDirectoryBase.TagDateTime, ParseDate) is { } modified)
            return At(modified, First(exif, ExifDirectoryBase.TagTimeZone, ParseOffset));
        return null;
    }

    // Without an offset the zone is unknown; reading the wall-clock time as UTC keeps the calendar day
    // the photographer saw, which is what reports by month group on.
    private static DateTimeOffset? At(ExifDate date, ExifOffset? offset)
    {
        try
        {
            return new DateTimeOffset(date.Value, offset?.Value ?? TimeSpan.Zero);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null; // 0001-01-01 00:00 east of UTC lies before DateTimeOffset.MinValue
        }
    }

    private static ExifDate? ParseDate(string? text)
    {
        text = text?.Replace("\0", "", StringComparison.Ordinal).Trim();
        // Exact and invariant: month 13, day 32, hour 25, 0000:00:00 and blanks all fail here.
        return DateTime.TryParseExact(text, "yyyy':'MM':'dd HH':'mm':'ss", CultureInfo.InvariantCulture,
            DateTimeStyles.None, out var value)
            ? new ExifDate(text!, value)
            : null;
    }

    private static ExifOffset? ParseOffset(string? text)
    {
        text = text?.Replace("\0", "", StringComparison.Ordinal).Trim();
        if (text is not { Length: 6 } || text[0] is not ('+' or '-') || text[3] != ':'
            || !int.TryParse(text.AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(text.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || minutes > 59)
            return null;
        var offset = new TimeSpan(hours, minutes, 0);
        if (offset > TimeSpan.FromHours(14))
            return null; // beyond any real zone, and beyond what DateTimeOffset accepts
        return new ExifOffset(text, text[0] == '-' ? -offset : offset);
    }

    private static Location? ReadLocation(GpsDirectory[] directories)
    {
        foreach (var gps in directories)
        {
            var latitude = Coordinate(gps, GpsDirectory.TagLatitude, GpsDirectory.TagLatitudeRef, 'N', 'S', 90);
            var longitude = Coordinate(gps, GpsDirectory.TagLongitude, GpsDirectory.TagLongitudeRef, 'E', 'W', 180);
            // Cameras without a fix write zeros: that is "no location", not a point in the Gulf of Guinea.
            if (latitude is not { } lat || longitude is not { } lon || (lat == 0 && lon == 0))
                continue;
            return new Location(lat, lon, Altitude(gps));
        }
        return null;
    }

    private static double? Coordinate(GpsDirectory gps, int valueTag, int refTag, char positive, char negative, double limit)
    {
        Rational[]? parts = gps.GetObject(valueTag) switch
        {
            Rational[] array => array,
            Rational single => [single],
            _ => null,
        };
        if (parts is not { Length: >= 1 and <= 3 })
            return null;
        var reference = CleanText(gps.GetString(refTag))?.ToUpperInvariant();
        if (reference is not { Length: 1 } || (reference[0] != positive && reference[0] != negative))
            return null;

        // Degrees, minutes, seconds. Some writers store a signed degree as well as the ref letter; the ref
        // decides the sign, so magnitudes are used.
        var degrees = 0d;
        for (var i = 0; i < parts.Length; i++)
            degrees += Math.Abs(parts[i].ToDouble()) / Math.Pow(60, i);
        if (!double.IsFinite(degrees) || degrees > limit)
            return null;
        return reference[0] == negative ? -degrees : degrees;
    }

    private static double? Altitude(GpsDirectory gps)
    {
        if (Number(gps, GpsDirectory.TagAltitude) is not { } metres || metres < 0 || metres > 100_000)
            return null;
        // Ref 1 means below sea level; a missing ref is read as above, the EXIF default.
        return Number(gps, GpsDirectory.TagAltitudeRef) == 1 ? -metres : metres;
    }

    private static T? First<T>(MdDirectory[] directories, int tag, Func<string?, T?> parse) where T : class
    {
        foreach (var directory in directories)
            if (directory.ContainsTag(tag) && parse(directory.GetString(tag)) is { } value)
                return value;
        return null;
    }

    private static T? FirstNumber<T>(MdDirectory[] directories, int tag, Func<double, T?> accept) where T : struct
    {
        foreach (var directory in directories)
            if (Number(directory, tag) is { } number && accept(number) is { } value)
                return value;
        return null;
    }

    // Tags arrive as Rational, any integer width, or an array of them (ISO is often a one-element array).
    private static double? Number(MdDirectory directory, int tag)
    {
        var value = directory.GetObject(tag);
        if (value is Array { Length: > 0 } array)
            value = array.GetValue(0);
        double? number = value switch
        {
            Rational rational => rational.ToDouble(),
            byte or sbyte or short or ushort or int or uint or long or ulong or float or double =>
                Convert.ToDouble(value, CultureInfo.InvariantCulture),
            _ => null,
        };
        return number is { } n && double.IsFinite(n) ? n : null;
    }

    private static double? InRange(double value, double max) => value > 0 && value <= max ? value : null;

    private static string? CleanText(string? text)
    {
        if (text is null)
            return null;
        text = text.Replace("\0", "", StringComparison.Ordinal).Trim();
        if (text.Length > MaxTextLength)
        {
            // Never cut between the halves of a surrogate pair: the JSON would carry a broken character.
            var cut = char.IsHighSurrogate(text[MaxTextLength - 1]) ? MaxTextLength - 1 : MaxTextLength;
            text = text[..cut].TrimEnd();
        }
        return text.Length == 0 ? null : text;
    }

    // One malformed directory or tag must not cost the fields that could be read.
    private static T? Guard<T>(Func<T?> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (IsMalformedInput(e))
        {
            return default;
        }
    }

    private sealed record ExifDate(string Raw, DateTime Value);

    private sealed record ExifOffset(string Raw, TimeSpan Value);

    private sealed record Location(double Latitude, double Longitude, double? Altitude);
}
