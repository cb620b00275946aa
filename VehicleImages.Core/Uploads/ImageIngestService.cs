using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Imaging;
using VehicleImages.Core.Quotas;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Uploads;

public static class IngestOutcome
{
    public const string Created = "created";
    public const string Duplicate = "duplicate";
    public const string Rejected = "rejected";
}

public sealed record IngestResult(string FileName, string Outcome, Guid? ImageId, string? ProcessingStatus, string? Error)
{
    public static IngestResult Rejected(string fileName, string error) => new(fileName, IngestOutcome.Rejected, null, null, error);
}

/// <summary>An uploaded file already written to the store's temporary folder, with its hash.</summary>
public sealed record UploadedFile(string FileName, string TempPath, long Length, string Sha256);

/// <summary>
/// One file → one outcome. Validates and decodes (<see cref="ImageProcessor"/>), then stores the
/// files and inserts the row in one transaction: the row is inserted first, the files written,
/// and only then is the transaction committed, so a failure anywhere leaves no row without files;
/// files written for a row that never committed are removed again unless another row uses them.
/// </summary>
public sealed class ImageIngestService(
    IDbContextFactory<VehicleImagesDbContext> contexts,
    IImageStore store,
    StoredFileCleaner cleaner,
    QuotaService quotas,
    IOptions<UploadOptions> upload,
    TimeProvider time,
    ILogger<ImageIngestService> logger)
{
    // Decoding is CPU and memory heavy: at most one per core at a time, whatever the number of uploads.
    private static readonly SemaphoreSlim DecodeSlots = new(Environment.ProcessorCount);

    // Decodes that hold the whole image (progressive JPEG, interlaced PNG, HEIC, …) run one at a time,
    // so Upload:MaxDecodeBytes bounds their memory together, not each. Taken before a decode slot, always.
    private static readonly SemaphoreSlim LargeDecodeSlot = new(1);

    /// <summary>For tests: runs after the files are written and before the transaction commits.</summary>
    internal Func<Task>? AfterFilesWritten { get; set; }

    public async Task<IngestResult> IngestAsync(Guid userId, Guid vehicleId, UploadedFile file, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await IngestFileAsync(userId, vehicleId, file, cancellationToken);
        Observability.Telemetry.IngestDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        Observability.Telemetry.Uploads.Add(1, Observability.Telemetry.Tag("outcome", result.Outcome));
        return result;
    }

    private async Task<IngestResult> IngestFileAsync(Guid userId, Guid vehicleId, UploadedFile file, CancellationToken cancellationToken)
    {
        if (file.Length == 0)
            return IngestResult.Rejected(file.FileName, "the file is empty.");
        if (file.Length > upload.Value.MaxFileBytes)
            return IngestResult.Rejected(file.FileName, $"file is larger than {FormatBytes(upload.Value.MaxFileBytes)}.");

        var format = await SniffAsync(file.TempPath, cancellationToken);
        if (format is null)
            return IngestResult.Rejected(file.FileName,
                "not an image we can read: the file is not JPEG, PNG, WebP, GIF, HEIC/HEIF, AVIF or TIFF (whatever its name says).");

        if (await FindDuplicateAsync(vehicleId, file.Sha256, cancellationToken) is { } existing)
            return existing with { FileName = file.FileName };
        // A file the quotas refuse is not worth a decode. (A duplicate above costs nothing, so it still answers.)
        if (await quotas.CheckUploadAsync(userId, file.Length, cancellationToken) is { } overQuota)
            return IngestResult.Rejected(file.FileName, overQuota);

        ProcessedImage processed;
        var limits = new DecodeLimits(upload.Value.MaxPixels, upload.Value.MaxDecodeBytes);
        var large = false;
        try
        {
            // The header is cheap (no pixel decoded) and says what the decode will cost, before it is queued.
            var header = await Task.Run(() => ImageProcessor.ReadHeader(file.TempPath, format.Value), cancellationToken);
            ImageProcessor.CheckLimits(header, limits);
            if (header.IsLarge)
            {
                await LargeDecodeSlot.WaitAsync(cancellationToken);
                large = true;
            }

            await DecodeSlots.WaitAsync(cancellationToken);
            try
            {
                processed = await Task.Run(() => ImageProcessor.Process(file.TempPath, format.Value, header), cancellationToken);
            }
            finally
            {
                DecodeSlots.Release();
            }
        }
        catch (ImageRejectedException e)
        {
            // The decoder's own words can name our temporary path: the log keeps them, the owner gets the reason.
            logger.LogDebug(e.InnerException, "{File} rejected: {Reason}", file.FileName, e.Message);
            return IngestResult.Rejected(file.FileName, e.Message);
        }
        finally
        {
            if (large)
                LargeDecodeSlot.Release();
        }

        return await StoreAsync(userId, vehicleId, file, processed, cancellationToken);
    }

    private async Task<IngestResult> StoreAsync(Guid userId, Guid vehicleId, UploadedFile file, ProcessedImage processed, CancellationToken cancellationToken)
    {
        var variants = new VariantSet(
            new StoredObject(StorageKeys.Original(file.Sha256, FormatSniffer.Extension(processed.Format)),
                FormatSniffer.ContentType(processed.Format), file.Length, processed.Width, processed.Height),
            Describe(file.Sha256, processed.Variants[0]),
            Describe(file.Sha256, processed.Variants[1]),
            Describe(file.Sha256, processed.Variants[2]));

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        // One writer per file content (shared blobs): held from here to the commit, so a failed upload of
        // the same bytes cannot delete objects this one is about to refer to.
        await AdvisoryLocks.LockContentAsync(db, file.Sha256, cancellationToken);
        if (await FindDuplicateAsync(db, vehicleId, file.Sha256, cancellationToken) is { } duplicate)
            return duplicate with { FileName = file.FileName };

        var mayHaveWrittenFiles = false;
        try
        {
            // The objects first, holding only the content's lock: the vehicle's lock and the owner's
            // row of today's count (below) are held until the commit, and an object store's round trips
            // under them made every other upload of the same owner wait (2 at a time ran 1.5× slower on
            // S3 than on disk). Nothing refers to the objects until the row commits; a crash before
            // that leaves objects without a row, for the orphan sweep, as before.
            mayHaveWrittenFiles = true;
            // The four writes go out together: against an object store each is a round trip.
            await Task.WhenAll(processed.Variants
                .Select(v => store.PutBytesAsync(StorageKeys.Variant(file.Sha256, v.Name), v.Bytes, cancellationToken))
                .Prepend(store.PutFileAsync(variants.Original.Key, file.TempPath, cancellationToken)));

            // One writer per vehicle (the primary photo).
            await AdvisoryLocks.LockVehicleAsync(db, vehicleId, cancellationToken);
            // Counts the photo for today and decides the quotas for good; a refusal rolls the count back with the rest.
            if (await quotas.ReserveAsync(db, userId, file.Length, cancellationToken) is { } overQuota)
            {
                await tx.RollbackAsync(CancellationToken.None);
                await DeleteWrittenAsync(file, variants);
                return IngestResult.Rejected(file.FileName, overQuota);
            }

            var image = await InsertAsync(db, userId, vehicleId, file, processed, variants, cancellationToken);
            if (AfterFilesWritten is { } hook)
                await hook();
            await tx.CommitAsync(cancellationToken);
            return new IngestResult(file.FileName, IngestOutcome.Created, image.Id, image.ProcessingStatus, null);
        }
        catch (Exception e)
        {
            await tx.RollbackAsync(CancellationToken.None);
            if (mayHaveWrittenFiles)
                await DeleteWrittenAsync(file, variants);

            if (e is StoreUnavailableException)
            {
                logger.LogWarning("Storing {FileName} failed, nothing was kept: {Reason}", file.FileName, e.Message);
                throw;
            }

            // The database is the judge between simultaneous uploads of the same file.
            if (e is DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } }
                && await FindDuplicateAsync(vehicleId, file.Sha256, CancellationToken.None) is { } dup)
                return dup with { FileName = file.FileName };
            logger.LogError(e, "Storing {FileName} failed; nothing was kept", file.FileName);
            throw;
        }
    }

    /// <summary>Removes the objects of an upload that did not commit, unless another row uses the same content.</summary>
    private async Task DeleteWrittenAsync(UploadedFile file, VariantSet variants)
    {
        try
        {
            await cleaner.DeleteIfUnusedAsync(file.Sha256, variants, CancellationToken.None);
        }
        catch (StoreUnavailableException cleanup)
        {
            // No row refers to them, so no one sees them; the orphan sweep removes them once the store is back.
            logger.LogWarning("Objects of {FileName} written before the failure stay for the orphan sweep: {Reason}", file.FileName, cleanup.Message);
        }
    }

    /// <summary>The row (its job made by the insert's trigger), inside the ingest transaction, under the vehicle's lock.</summary>
    private async Task<VehicleImage> InsertAsync(VehicleImagesDbContext db, Guid userId, Guid vehicleId, UploadedFile file, ProcessedImage processed,
        VariantSet variants, CancellationToken cancellationToken)
    {
        var exif = processed.Exif;
        var image = new VehicleImage
        {
            Id = Guid.CreateVersion7(),
            VehicleId = vehicleId,
            UserId = userId,
            FileName = file.FileName,
            ExifData = ExifJson(exif, processed.Warnings),
            Variants = variants.ToJson(),
            TakenAt = exif.TakenAt?.ToUniversalTime(),
            IsPrimary = !await db.VehicleImages.AnyAsync(i => i.VehicleId == vehicleId && i.IsPrimary, cancellationToken),
            ProcessingStatus = Processing.Status.PhotoStatus.OnArrival,
            CreatedAt = time.GetUtcNow(),
            Sha256 = file.Sha256,
            ContentType = variants.Original.ContentType,
            FileSize = file.Length,
            Width = processed.Width,
            Height = processed.Height,
            GpsLatitude = exif.GpsLatitude,
            GpsLongitude = exif.GpsLongitude,
            CameraMake = exif.Make,
            CameraModel = exif.Model,
            LensModel = exif.LensModel,
            Orientation = exif.Orientation,
            ExposureTime = exif.ExposureTimeSeconds,
            FNumber = exif.FNumber,
            Iso = exif.Iso,
            FocalLength = exif.FocalLengthMm,
        };
        db.VehicleImages.Add(image);
        await db.SaveChangesAsync(cancellationToken);
        // The job (made by the insert's trigger) carries the upload's trace, so its analysis joins it.
        if (System.Diagnostics.Activity.Current is { Recorded: true } trace)
            await db.Database.ExecuteSqlAsync(
                $"UPDATE image_processing_jobs SET trace_parent = {trace.Id} WHERE image_id = {image.Id} AND status = 'pending'", cancellationToken);
        return image;
    }

    /// <summary>
    /// The EXIF object, plus "ingestWarnings" when the photo was kept despite a flaw (a truncated JPEG's
    /// grey rows): vehicle_images has no column for it, and exif_data is what the photo's detail shows.
    /// </summary>
    private static string ExifJson(ExifInfo exif, IReadOnlyList<string> warnings)
    {
        var json = exif.ToJson();
        if (warnings.Count > 0)
            json["ingestWarnings"] = new System.Text.Json.Nodes.JsonArray([.. warnings.Select(w => (System.Text.Json.Nodes.JsonNode?)w)]);
        return json.ToJsonString();
    }

    private async Task<IngestResult?> FindDuplicateAsync(Guid vehicleId, string sha256, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await FindDuplicateAsync(db, vehicleId, sha256, cancellationToken);
    }

    private static async Task<IngestResult?> FindDuplicateAsync(VehicleImagesDbContext db, Guid vehicleId, string sha256, CancellationToken cancellationToken)
    {
        var existing = await db.VehicleImages.AsNoTracking()
            .Where(i => i.VehicleId == vehicleId && i.Sha256 == sha256)
            .Select(i => new { i.Id, i.ProcessingStatus })
            .FirstOrDefaultAsync(cancellationToken);
        return existing is null ? null : new IngestResult("", IngestOutcome.Duplicate, existing.Id, existing.ProcessingStatus, null);
    }

    private static async Task<ImageFormat?> SniffAsync(string path, CancellationToken cancellationToken)
    {
        var head = new byte[FormatSniffer.HeaderBytes];
        await using var stream = File.OpenRead(path);
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        return FormatSniffer.Sniff(head.AsSpan(0, read));
    }

    private static StoredObject Describe(string sha256, Variant v) =>
        new(StorageKeys.Variant(sha256, v.Name), Variant.ContentType, v.Bytes.Length, v.Width, v.Height);

    public static string FormatBytes(long bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : $"{bytes / (1024.0 * 1024):0.#} MiB";

}
