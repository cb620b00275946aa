using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Vehicles;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Endpoints;

namespace VehicleImages.Web.Uploads.Tus;

public sealed record UploadStatusResponse(
    Guid Id, Guid VehicleId, string FileName, long Length, long Offset, string Outcome, Guid? ImageId, string? Error, DateTimeOffset ExpiresAt);

public sealed record CheckRequest(IReadOnlyList<string>? Sha256);

public sealed record ExistingImage(string Sha256, Guid ImageId);

public sealed record CheckResponse(IReadOnlyList<ExistingImage> Existing);

/// <summary>
/// tus 1.0.0 (https://tus.io/protocols/resumable-upload) at /api/uploads: core, creation,
/// creation-with-upload, termination, expiration and checksum. The headers are this file's; the
/// upload's life (offsets, the one completion, expiry) is <see cref="ResumableUploadService"/>'s.
/// Cookie-signed POST, PATCH and DELETE carry the antiforgery header like every API change
/// (Security/ApiAntiforgery); creation counts against the per-user upload rate, chunks against a
/// per-user chunk rate of their own (RateLimits:UploadPatchesPerMinute).
/// </summary>
public static class TusEndpoints
{
    public const string Path = "/api/uploads";
    public const string Version = "1.0.0";
    public const string Extensions = "creation,creation-with-upload,termination,expiration,checksum";
    public const string OffsetContentType = "application/offset+octet-stream";
    /// <summary>tus's own status for a chunk whose checksum does not match.</summary>
    public const int ChecksumMismatch = 460;

    public static IEndpointRouteBuilder MapTusEndpoints(this IEndpointRouteBuilder routes)
    {
        var uploads = routes.MapGroup(Path).WithTags("Uploads").DisableAntiforgery();
        uploads.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            http.Response.Headers["Tus-Resumable"] = Version;
            // Every request but OPTIONS names the protocol version; another version is refused (412) with ours named.
            if (!HttpMethods.IsOptions(http.Request.Method) && !HttpMethods.IsGet(http.Request.Method)
                && http.Request.Headers["Tus-Resumable"] != Version)
            {
                http.Response.Headers["Tus-Version"] = Version;
                return Problem(StatusCodes.Status412PreconditionFailed, $"Send Tus-Resumable: {Version}.");
            }

            return await next(context);
        });
        uploads.MapMethods("/", [HttpMethods.Options], Options).AllowAnonymous();
        uploads.MapPost("/", CreateAsync).RequireAuthorization().RequireRateLimiting(Limits.RateLimitPolicies.Uploads);
        uploads.MapMethods("/{id:guid}", [HttpMethods.Head], HeadAsync).RequireAuthorization();
        uploads.MapPatch("/{id:guid}", PatchAsync).RequireAuthorization().RequireRateLimiting(Limits.RateLimitPolicies.UploadPatches);
        uploads.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization();
        uploads.MapGet("/{id:guid}", GetAsync).RequireAuthorization();

        routes.MapPost("/api/vehicles/{vehicleId:guid}/images/check", CheckAsync).WithTags("Uploads").RequireAuthorization();
        return routes;
    }

    private static IResult Options(HttpContext http, IOptions<UploadOptions> options)
    {
        var headers = http.Response.Headers;
        headers["Tus-Version"] = Version;
        headers["Tus-Extension"] = Extensions;
        headers["Tus-Max-Size"] = options.Value.MaxFileBytes.ToString(CultureInfo.InvariantCulture);
        headers["Tus-Checksum-Algorithm"] = string.Join(',', ChunkChecksum.Algorithms.Keys);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> CreateAsync(
        HttpContext http, VehicleService vehicles, ResumableUploadService uploads, IOptions<UploadOptions> options, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (!long.TryParse(request.Headers["Upload-Length"], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            return Problem(StatusCodes.Status400BadRequest, "Upload-Length is missing or not a number of bytes (Upload-Defer-Length is not supported).");
        if (length > options.Value.MaxFileBytes)
        {
            http.Response.Headers["Tus-Max-Size"] = options.Value.MaxFileBytes.ToString(CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status413PayloadTooLarge, $"The file is larger than {ImageIngestService.FormatBytes(options.Value.MaxFileBytes)}.");
        }

        if (ParseMetadata(request.Headers["Upload-Metadata"]) is not { } metadata)
            return Problem(StatusCodes.Status400BadRequest, "Upload-Metadata is malformed: comma-separated 'key base64value' pairs.");
        if (!metadata.TryGetValue("vehicleId", out var vehicleText) || !Guid.TryParse(vehicleText, out var vehicleId))
            return Problem(StatusCodes.Status400BadRequest, "Upload-Metadata lacks vehicleId (the vehicle's id, base64-encoded as tus asks).");
        if (!metadata.TryGetValue("filename", out var fileName) || string.IsNullOrWhiteSpace(fileName))
            return Problem(StatusCodes.Status400BadRequest, "Upload-Metadata lacks filename.");

        var userId = http.User.UserId();
        if (await vehicles.FindAsync(userId, vehicleId, cancellationToken) is null)
            return Problem(StatusCodes.Status404NotFound, "No such vehicle.");
        if (request.ContentLength > length)
            return Problem(StatusCodes.Status413PayloadTooLarge, $"The first chunk goes beyond Upload-Length ({length} bytes).");

        var creation = await uploads.CreateAsync(userId,
            new NewUpload(vehicleId, UploadNames.Clean(fileName), metadata.GetValueOrDefault("filetype") is { Length: > 0 and <= 255 } t ? t : null, length),
            cancellationToken);
        if (creation.Upload is not { } upload)
            return creation.Refusal == CreationRefusal.OverQuota
                ? Problem(StatusCodes.Status413PayloadTooLarge, creation.Reason!, "Storage quota reached")
                : Problem(StatusCodes.Status403Forbidden, creation.Reason!, "Too many unfinished uploads");
        var location = $"{Path}/{upload.Id}";
        http.Response.Headers.Location = location;

        // creation-with-upload: the first chunk rides on the POST. Whatever happens to it, the upload exists.
        var offset = 0L;
        if (request.ContentType == OffsetContentType && (request.ContentLength is > 0 || request.ContentLength is null))
        {
            try
            {
                var chunk = await uploads.AppendAsync(userId, upload.Id, 0, LimitedBody(http), null, cancellationToken);
                offset = chunk.Status == ChunkStatus.Accepted ? chunk.Offset : 0;
                if (chunk.Status == ChunkStatus.BeyondLength)
                    return Problem(StatusCodes.Status413PayloadTooLarge, chunk.Reason!);
            }
            catch (StoreUnavailableException e)
            {
                // The upload exists; its first chunk was not kept (offset 0), and the client's PATCHes retry it.
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TusEndpoints)).LogWarning("Upload {Id}: first chunk not kept: {Reason}", upload.Id, e.Message);
            }
        }
        else if (length == 0)
        {
            // Nothing to send: complete at once (the ingest names why an empty file is not a photo).
            await uploads.CompleteAsync(upload.Id, cancellationToken);
        }

        http.Response.Headers["Upload-Offset"] = offset.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["Upload-Expires"] = upload.ExpiresAt.ToString("R", CultureInfo.InvariantCulture);
        return TypedResults.Created(location);
    }

    private static async Task<IResult> HeadAsync(Guid id, HttpContext http, ResumableUploadService uploads, CancellationToken cancellationToken)
    {
        http.Response.Headers.CacheControl = "no-store";
        var upload = await uploads.FindAsync(http.User.UserId(), id, cancellationToken);
        if (upload is null)
            return TypedResults.NotFound();
        if (uploads.IsExpired(upload))
            return TypedResults.StatusCode(StatusCodes.Status410Gone);
        WriteState(http, upload);
        return TypedResults.Ok();
    }

    private static async Task<IResult> PatchAsync(Guid id, HttpContext http, ResumableUploadService uploads, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (request.ContentType != OffsetContentType)
            return Problem(StatusCodes.Status415UnsupportedMediaType, $"A PATCH carries Content-Type: {OffsetContentType}.");
        if (!long.TryParse(request.Headers["Upload-Offset"], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            return Problem(StatusCodes.Status400BadRequest, "Upload-Offset is missing or not a number of bytes.");
        ChunkChecksum? checksum = null;
        if (request.Headers["Upload-Checksum"].ToString() is { Length: > 0 } checksumHeader)
        {
            checksum = ParseChecksum(checksumHeader);
            if (checksum is null)
                return Problem(StatusCodes.Status400BadRequest,
                    $"Upload-Checksum names an algorithm this server does not support or a digest that is not base64; supported: {string.Join(", ", ChunkChecksum.Algorithms.Keys)}.");
        }

        var userId = http.User.UserId();
        var upload = await uploads.FindAsync(userId, id, cancellationToken);
        if (upload is null)
            return Problem(StatusCodes.Status404NotFound, "No such upload.");
        if (request.ContentLength is { } declared && offset + declared > upload.Length)
            return Problem(StatusCodes.Status413PayloadTooLarge, $"The chunk goes beyond Upload-Length ({upload.Length} bytes); nothing of it was kept.");

        ChunkResult result;
        try
        {
            result = await uploads.AppendAsync(userId, id, offset, LimitedBody(http), checksum, cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            // Nothing of the chunk counts (the offset did not move); the client retries after a HEAD.
            return StorageUnavailable(http, $"Upload {id}: chunk at {offset} not kept: {e.Message}", "The chunk was not kept: storage is unavailable. Try again shortly.");
        }
        http.Response.Headers["Upload-Offset"] = result.Offset.ToString(CultureInfo.InvariantCulture);
        return result.Status switch
        {
            ChunkStatus.Accepted => await AcceptedAsync(http, uploads, userId, id, cancellationToken),
            ChunkStatus.NotFound => Problem(StatusCodes.Status404NotFound, "No such upload."),
            ChunkStatus.Expired => Problem(StatusCodes.Status410Gone, "The upload expired; start it again."),
            ChunkStatus.OffsetMismatch or ChunkStatus.Busy => Problem(StatusCodes.Status409Conflict, result.Reason!),
            ChunkStatus.ChecksumMismatch => Problem(ChecksumMismatch, result.Reason!, "Checksum Mismatch"),
            ChunkStatus.BeyondLength => Problem(StatusCodes.Status413PayloadTooLarge, result.Reason!),
            _ => throw new InvalidOperationException(result.Status.ToString()),
        };
    }

    private static async Task<IResult> AcceptedAsync(HttpContext http, ResumableUploadService uploads, Guid userId, Guid id, CancellationToken cancellationToken)
    {
        if (await uploads.FindAsync(userId, id, cancellationToken) is { } upload)
            http.Response.Headers["Upload-Expires"] = upload.ExpiresAt.ToString("R", CultureInfo.InvariantCulture);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DeleteAsync(Guid id, HttpContext http, ResumableUploadService uploads, CancellationToken cancellationToken) =>
        await uploads.TerminateAsync(http.User.UserId(), id, cancellationToken)
            ? TypedResults.NoContent()
            : Problem(StatusCodes.Status404NotFound, "No such upload.");

    private static async Task<IResult> GetAsync(Guid id, HttpContext http, ResumableUploadService uploads, CancellationToken cancellationToken)
    {
        var userId = http.User.UserId();
        var upload = await uploads.FindAsync(userId, id, cancellationToken);
        if (upload is null)
            return Problem(StatusCodes.Status404NotFound, "No such upload.");
        // Every byte is here but no outcome yet (the finishing request failed, or its instance died): finish it now, once.
        if (uploads.AwaitsCompletion(upload))
        {
            try
            {
                upload = await uploads.CompleteAsync(id, cancellationToken) ?? upload;
            }
            catch (StoreUnavailableException e)
            {
                return StorageUnavailable(http, $"Upload {id}: finishing it failed: {e.Message}", "The upload is complete but cannot be finished now: storage is unavailable. Try again shortly.");
            }
        }
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new UploadStatusResponse(upload.Id, upload.VehicleId, upload.FileName, upload.Length, upload.Offset,
            IsOutcome(upload.State) ? upload.State : UploadState.Uploading, upload.ImageId, upload.Error, upload.ExpiresAt));
    }

    private static bool IsOutcome(string state) => state is IngestOutcome.Created or IngestOutcome.Duplicate or IngestOutcome.Rejected;

    private static async Task<IResult> CheckAsync(
        Guid vehicleId, CheckRequest request, HttpContext http, VehicleService vehicles, ResumableUploadService uploads, CancellationToken cancellationToken)
    {
        const int Most = 1000;
        var hashes = (request.Sha256 ?? []).Select(h => h?.Trim().ToLowerInvariant() ?? "").Distinct().ToList();
        if (hashes.Count > Most)
            return Problem(StatusCodes.Status400BadRequest, $"Ask about at most {Most} hashes at a time.");
        if (hashes.FirstOrDefault(h => h.Length != 64 || !h.All(char.IsAsciiHexDigitLower)) is { } bad)
            return Problem(StatusCodes.Status400BadRequest, $"'{bad}' is not a SHA-256 in hex (64 characters).");
        if (await vehicles.FindAsync(http.User.UserId(), vehicleId, cancellationToken) is null)
            return Problem(StatusCodes.Status404NotFound, "No such vehicle.");
        var existing = await uploads.ExistingAsync(vehicleId, hashes, cancellationToken);
        return TypedResults.Ok(new CheckResponse(existing.Select(e => new ExistingImage(e.Sha256, e.ImageId)).ToList()));
    }

    private static void WriteState(HttpContext http, ResumableUpload upload)
    {
        var headers = http.Response.Headers;
        headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        headers["Upload-Length"] = upload.Length.ToString(CultureInfo.InvariantCulture);
        headers["Upload-Expires"] = upload.ExpiresAt.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The request body without Kestrel's own size limit: the service reads at most one byte more than
    /// the upload still needs and answers 413 itself. (Kestrel's limit counts what it has buffered, so it
    /// would fail a read early with an error that looks like a lost connection, whose bytes are kept.)
    /// </summary>
    private static Stream LimitedBody(HttpContext http)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = null;
        return http.Request.Body;
    }

    /// <summary>"key base64,key2 base64,flag" → a dictionary; null when a value is not base64 or a key repeats.</summary>
    internal static Dictionary<string, string>? ParseMetadata(string? header)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(header))
            return result;
        foreach (var pair in header.Split(','))
        {
            var parts = pair.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || result.ContainsKey(parts[0]))
                return null;
            try
            {
                result[parts[0]] = parts.Length == 1 ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(parts[1]));
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return result;
    }

    internal static ChunkChecksum? ParseChecksum(string header)
    {
        var parts = header.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !ChunkChecksum.Algorithms.TryGetValue(parts[0], out var algorithm))
            return null;
        try
        {
            return new ChunkChecksum(algorithm, Convert.FromBase64String(parts[1]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>503 with Retry-After. The store's own words (bucket, internal address) go to the log, never to the client.</summary>
    private static IResult StorageUnavailable(HttpContext http, string logged, string detail)
    {
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TusEndpoints)).LogWarning("{What}", logged);
        http.Response.Headers.RetryAfter = "5";
        return Problem(StatusCodes.Status503ServiceUnavailable, detail, "Storage unavailable");
    }

    private static IResult Problem(int status, string detail, string? title = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title);
}
