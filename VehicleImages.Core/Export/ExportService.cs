using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Imaging;
using VehicleImages.Core.Listings;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Export;

/// <summary>One photo of an export, in order: its entry's name, or why it could not be included.</summary>
public sealed record ExportPhoto(int Position, Guid ImageId, string EntryName, string OriginalName, string Category, string Angle,
    int? Quality, DateTimeOffset? TakenAt, int? Width, int? Height, int? Orientation, string? Variants);

/// <summary>What an export will write: the vehicle's name (for the file name) and the photos in order.</summary>
public sealed record ExportPlan(string VehicleName, string Set, IReadOnlyList<ExportPhoto> Photos);

/// <summary>
/// Streams a vehicle's photos as a zip (shared/CONTRACT.md, "Listings and export"): entries named by position and shot,
/// every one a JPEG with no GPS, serial numbers or owner names, and photos.csv. Each entry is made whole before its header
/// is written, so a missing or unreadable stored file is left out (and named in the CSV), never a broken zip.
/// </summary>
public sealed class ExportService(
    IDbContextFactory<VehicleImagesDbContext> contexts, ListingService listings, IImageStore store, ILogger<ExportService> logger,
    Privacy.BlurredVariants? privacy = null)
{
    public static readonly IReadOnlyList<string> Sets = ["listing", "all"];
    public static readonly IReadOnlyList<string> Sizes = ["original", "2048", "1600", "1024"];
    private readonly ConcurrentDictionary<Guid, int> _running = new();
    // Downloads through share links count here, per share: visitors never take the owner's places (Export:ConcurrentPerShare).
    private readonly ConcurrentDictionary<Guid, int> _runningPerShare = new();

    /// <summary>The photos of the set in order; null when the vehicle is not the caller's.</summary>
    public async Task<ExportPlan?> PlanAsync(Caller caller, Guid vehicleId, string set, CancellationToken cancellationToken)
    {
        var listing = await listings.GetAsync(caller, vehicleId, cancellationToken);
        if (listing is null)
            return null;
        return await PlanAsync(vehicleId, listing.Items.Select(i => i.ImageId).ToList(), set, set == "all", originalNames: true, cancellationToken);
    }

    /// <summary>
    /// The plan for photos already chosen and ordered by the caller (a share link resolves its own set): <paramref name="order"/>
    /// first, then, with <paramref name="addOthers"/>, the vehicle's other photos by time taken. Without
    /// <paramref name="originalNames"/> the CSV's original_name column is left empty (a visitor's zip carries no file names
    /// the owner's camera or computer gave, which can hold names).
    /// </summary>
    public async Task<ExportPlan> PlanAsync(Guid vehicleId, IReadOnlyList<Guid> order, string set, bool addOthers, bool originalNames,
        CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicleName = await db.Vehicles.Where(v => v.Id == vehicleId).Select(v => v.Name).SingleAsync(cancellationToken);
        var rows = await db.VehicleImages.AsNoTracking().Where(i => i.VehicleId == vehicleId)
            .Select(i => new
            {
                i.Id, i.FileName, i.TakenAt, i.CreatedAt, i.Width, i.Height, i.Orientation, i.Variants,
                Angle = db.VehicleImageAngles.Where(a => a.ImageId == i.Id).OrderBy(a => a.Source == AngleSource.User ? 0 : 1)
                    .Select(a => new { a.Category, a.Angle }).FirstOrDefault(),
            })
            .ToDictionaryAsync(r => r.Id, cancellationToken);
        // quality_score read where the listing reads it (in SQL), so the CSV and the listing's "quality 4 is under 5" agree.
        var quality = await listings.QualityAsync(vehicleId, cancellationToken);

        var ordered = order.ToList();
        if (addOthers)
            ordered.AddRange(rows.Values.Where(r => !ordered.Contains(r.Id)).OrderBy(r => r.TakenAt ?? r.CreatedAt).ThenBy(r => r.CreatedAt).Select(r => r.Id));
        var digits = Math.Max(2, ordered.Count.ToString(CultureInfo.InvariantCulture).Length);
        var photos = ordered.Where(rows.ContainsKey).Select((id, index) =>
        {
            var r = rows[id];
            var (category, angle) = (r.Angle?.Category ?? Taxonomy.Unknown, r.Angle?.Angle ?? Taxonomy.Unknown);
            var number = (index + 1).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0');
            var name = category == Taxonomy.Unknown ? $"{number}-photo.jpg" : $"{number}-{category}-{angle}.jpg";
            return new ExportPhoto(index + 1, id, name, originalNames ? r.FileName : "", category, angle, quality.GetValueOrDefault(id), r.TakenAt,
                r.Width, r.Height, r.Orientation, r.Variants);
        }).ToList();
        return new ExportPlan(vehicleName, set, photos);
    }

    /// <summary>Takes one of the user's export places; false when <paramref name="limit"/> are running already.</summary>
    public bool TryEnter(Guid userId, int limit) => TryEnter(_running, userId, limit);

    public void Exit(Guid userId) => _running.AddOrUpdate(userId, 0, (_, n) => Math.Max(0, n - 1));

    /// <summary>Takes one of a share link's download places (a pool of its own); false when <paramref name="limit"/> are running.</summary>
    public bool TryEnterShare(Guid shareId, int limit) => TryEnter(_runningPerShare, shareId, limit);

    public void ExitShare(Guid shareId) => _runningPerShare.AddOrUpdate(shareId, 0, (_, n) => Math.Max(0, n - 1));

    private static bool TryEnter(ConcurrentDictionary<Guid, int> running, Guid key, int limit)
    {
        while (true)
        {
            if (!running.TryGetValue(key, out var now))
            {
                if (running.TryAdd(key, 1))
                    return true;
                continue;
            }
            if (now >= limit)
                return false;
            if (running.TryUpdate(key, now + 1, now))
                return true;
        }
    }

    /// <summary>Writes the zip to <paramref name="output"/>; stops as soon as <paramref name="cancellationToken"/> fires (the client left).</summary>
    public async Task WriteAsync(ExportPlan plan, string size, Stream output, CancellationToken cancellationToken)
    {
        var csv = new StringBuilder("position,file,original_name,category,angle,quality,taken_at,width,height,missing\n");
        var sink = new SyncTolerantStream(output);
        // One read buffer and one output buffer for the whole export, grown to the largest photo: a per-entry array of
        // each stored file (and another of its stripped copy) measured 201 MiB of growth over 1.2 GB of originals.
        var buffers = new EntryBuffers();
        // Privacy boxes (issue 27): which photos leave blurred, and their copies already made, in one look-up.
        var hidden = privacy is null ? null : await privacy.HiddenAsync([.. plan.Photos.Select(p => p.ImageId)], cancellationToken);
        await using (var zip = await ZipArchive.CreateAsync(sink, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, cancellationToken))
        {
            foreach (var photo in plan.Photos)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (jpeg, width, height, missing) = await EntryAsync(photo, size, buffers, hidden?.GetValueOrDefault(photo.ImageId), cancellationToken);
                if (jpeg is not null)
                {
                    // JPEGs do not shrink: stored, not deflated.
                    var entry = zip.CreateEntry(photo.EntryName, CompressionLevel.NoCompression);
                    entry.LastWriteTime = photo.TakenAt ?? DateTimeOffset.UtcNow;
                    await using var stream = await entry.OpenAsync(cancellationToken);
                    await stream.WriteAsync(jpeg.Value, cancellationToken);
                    logger.LogDebug("Export of {Vehicle}: entry {EntryName} written", plan.VehicleName, photo.EntryName);
                }
                csv.Append(CultureInfo.InvariantCulture, $"{photo.Position},{Cell(jpeg is null ? "" : photo.EntryName)},{Cell(photo.OriginalName)},")
                    .Append(CultureInfo.InvariantCulture, $"{Cell(photo.Category)},{Cell(photo.Angle)},{photo.Quality},")
                    .Append(CultureInfo.InvariantCulture, $"{photo.TakenAt?.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture)},")
                    .Append(CultureInfo.InvariantCulture, $"{width},{height},{Cell(missing ?? "")}\n");
            }

            var list = zip.CreateEntry("photos.csv", CompressionLevel.Optimal);
            await using var csvStream = await list.OpenAsync(cancellationToken);
            await csvStream.WriteAsync(Encoding.UTF8.GetBytes(csv.ToString()), cancellationToken);
        }
        await sink.FlushAsync(cancellationToken);
    }

    /// <summary>The entry's bytes at the asked size, or why the photo is left out.</summary>
    private sealed class EntryBuffers
    {
        public byte[] Read = [];
        public readonly MemoryStream Clean = new();
    }

    private async Task<(ReadOnlyMemory<byte>? Jpeg, int? Width, int? Height, string? Missing)> EntryAsync(
        ExportPhoto photo, string size, EntryBuffers buffers, Privacy.HiddenPhoto? hidden, CancellationToken cancellationToken)
    {
        if (VariantSet.FromJson(photo.Variants) is not { } variants)
            return (null, null, null, "no stored file");
        // Privacy boxes (issue 27): a photo with boxes, of a vehicle that hides them, leaves blurred at every size, from
        // the blurred copies made once per box set; when they cannot be made the photo is left out, never sent clear.
        if (hidden is not null)
            return await BlurredEntryAsync(photo, hidden, size, buffers, cancellationToken);
        var source = size switch
        {
            "original" => variants.Original,
            "1024" => variants.Medium,
            _ => variants.Large,
        };
        var length = await ReadAsync(source.Key, buffers, cancellationToken);
        if (length <= 0)
        {
            logger.LogWarning("Export: the stored {Variant} of photo {ImageId} is missing or empty", size, photo.ImageId);
            return (null, null, null, length < 0 ? "stored file missing" : "stored file empty");
        }
        var bytes = buffers.Read.AsMemory(0, length);

        try
        {
            switch (size)
            {
                case "2048" or "1024":
                    // The stored variants are already what the sizes promise: sRGB, upright, no metadata.
                    return IsWholeJpeg(bytes.Span) ? (bytes, source.Width, source.Height, null) : (null, null, null, "stored file unreadable");
                case "1600":
                {
                    var stored = bytes.ToArray(); // libvips reads a whole array: the large variant's 1-2 MB
                    var (jpeg, w, h) = await Task.Run(() => ImageProcessor.Smaller(stored, 1600), cancellationToken);
                    return (jpeg, w, h, null);
                }
                default:
                    if (FormatSniffer.Sniff(bytes.Span[..Math.Min(length, FormatSniffer.HeaderBytes)]) is not { } format)
                        return (null, null, null, "stored file unreadable");
                    if (format == ImageFormat.Jpeg)
                        return JpegMetadata.Strip(bytes.Span, photo.Orientation, buffers.Clean)
                            ? (buffers.Clean.GetBuffer().AsMemory(0, (int)buffers.Clean.Length), photo.Width, photo.Height, null)
                            : (null, null, null, "stored file unreadable");
                    return await Task.Run(() => FullSize(bytes, format), cancellationToken);
            }
        }
        catch (ImageRejectedException e)
        {
            logger.LogWarning("Export: photo {ImageId} could not be decoded: {Reason}", photo.ImageId, e.Message);
            return (null, null, null, "stored file unreadable");
        }
    }

    private async Task<(ReadOnlyMemory<byte>? Jpeg, int? Width, int? Height, string? Missing)> BlurredEntryAsync(
        ExportPhoto photo, Privacy.HiddenPhoto hidden, string size, EntryBuffers buffers, CancellationToken cancellationToken)
    {
        try
        {
            var copy = await privacy!.GetAsync(hidden, size switch { "original" => "original", "1024" => "medium", _ => "large" }, cancellationToken);
            var length = await ReadAsync(copy.Key, buffers, cancellationToken);
            if (length <= 0)
                return (null, null, null, length < 0 ? "stored file missing" : "stored file empty");
            if (size != "1600")
                return (buffers.Read.AsMemory(0, length), copy.Width, copy.Height, null);
            var stored = buffers.Read.AsSpan(0, length).ToArray();
            var (jpeg, w, h) = await Task.Run(() => ImageProcessor.Smaller(stored, 1600), cancellationToken);
            return (jpeg, w, h, null);
        }
        catch (ImageRejectedException e)
        {
            logger.LogWarning("Export: photo {ImageId} is left out: its privacy boxes could not be blurred ({Reason})", photo.ImageId, e.Message);
            return (null, null, null, "stored file unreadable");
        }
    }

    private (ReadOnlyMemory<byte>? Jpeg, int? Width, int? Height, string? Missing) FullSize(ReadOnlyMemory<byte> bytes, ImageFormat format)
    {
        var path = store.CreateTempPath();
        try
        {
            using (var file = File.Create(path))
                file.Write(bytes.Span);
            var (jpeg, width, height) = ImageProcessor.FullSizeJpeg(path, format);
            return (jpeg, width, height, null);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Reads the stored object into the export's read buffer (grown when too small): its length, or -1 when missing.</summary>
    private async Task<int> ReadAsync(string key, EntryBuffers buffers, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(key, cancellationToken);
        if (stream is null)
            return -1;
        var length = checked((int)stream.Length);
        if (buffers.Read.Length < length)
            buffers.Read = new byte[Math.Max(length, buffers.Read.Length + buffers.Read.Length / 2)];
        await stream.ReadExactlyAsync(buffers.Read.AsMemory(0, length), cancellationToken);
        return length;
    }

    /// <summary>Starts with the start-of-image marker and ends with end-of-image: not cut short.</summary>
    private static bool IsWholeJpeg(ReadOnlySpan<byte> b) => b.Length > 4 && b[0] == 0xFF && b[1] == 0xD8 && b[^2] == 0xFF && b[^1] == 0xD9;

    /// <summary>A CSV cell: quoted when it must be, and a leading = + - @ (or tab, CR) made inert for spreadsheets.</summary>
    public static string Cell(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
    }
}
