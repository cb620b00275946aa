using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Images;
using VehicleImages.Core.Ingest;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Vehicles;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record UploadResponse(IReadOnlyList<IngestResult> Results);

public sealed record CategorizationRequest(string? Category, string? Angle);

public sealed record ImageDetailResponse(
    Guid Id, Guid VehicleId, string FileName, string ProcessingStatus, int Attempts, string? LastError,
    DateTimeOffset? TakenAt, bool IsPrimary, string Category, string Angle, int? Width, int? Height,
    DateTimeOffset CreatedAt, ImageUrls Urls, JsonNode? Exif, JsonNode? AiScanMetadata, IReadOnlyList<AngleView> Angles,
    ProcessingView Processing);

public static class ImageEndpoints
{
    public const string FilesPartName = "files";

    public static IEndpointRouteBuilder MapImageEndpoints(this IEndpointRouteBuilder routes)
    {
        var vehicles = routes.MapGroup("/api/vehicles/{vehicleId:guid}/images").WithTags("Images").RequireAuthorization();
        // The body is streamed part by part, not bound as a form: a cookie-signed upload carries its
        // antiforgery token in a header, checked before this runs (Security/ApiAntiforgery).
        vehicles.MapPost("/", UploadAsync).DisableAntiforgery().RequireRateLimiting(Limits.RateLimitPolicies.Uploads);
        vehicles.MapGet("/", ListAsync);

        var images = routes.MapGroup("/api/images/{id:guid}").WithTags("Images").RequireAuthorization();
        images.MapGet("/", GetAsync);
        images.MapGet("/{variant}", GetVariantAsync);
        images.MapDelete("/", DeleteAsync);
        images.MapPost("/primary", SetPrimaryAsync);
        images.MapPost("/retry", RetryAsync);
        images.MapPut("/categorization", CategorizeAsync);
        return routes;
    }

    private static async Task<IResult> UploadAsync(
        Guid vehicleId, HttpContext http, VehicleService vehicleService, ImageIngestService ingest, IImageStore store,
        IOptions<UploadOptions> options, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        if (await vehicleService.FindAsync(http.User.UserId(), vehicleId, cancellationToken) is null)
            return TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
            sizeLimit.MaxRequestBodySize = limits.MaxRequestBytes;
        if (http.Request.ContentLength > limits.MaxRequestBytes)
            return TooLarge(limits);

        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
            return NoFiles();

        // Every part is received (to a temporary file) before any is ingested, so a request over the
        // parts cap is refused whole: no row and no stored file for the parts before the cap either.
        var received = new List<ReceivedPart>();
        try
        {
            try
            {
                // Per-part size is enforced while streaming (MaxFileBytes), not by the reader's own 128 MB cap.
                var reader = new MultipartReader(boundary, http.Request.Body) { BodyLengthLimit = null };
                while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
                {
                    if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                        || !disposition.IsFileDisposition()
                        || !string.Equals(HeaderUtilities.RemoveQuotes(disposition.Name).Value, FilesPartName, StringComparison.Ordinal))
                    {
                        await section.Body.CopyToAsync(Stream.Null, cancellationToken);
                        continue;
                    }

                    // The rest of the body is left unread: Kestrel discards it or closes the connection.
                    if (received.Count == limits.MaxFilesPerRequest)
                        return TooManyFiles(limits);
                    var fileName = UploadNames.Clean(disposition.FileNameStar.HasValue ? disposition.FileNameStar.Value : HeaderUtilities.RemoveQuotes(disposition.FileName).Value);
                    received.Add(await ReceiveAsync(section.Body, fileName, store, limits, cancellationToken));
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(limits);
            }
            catch (InvalidDataException e)
            {
                return TypedResults.Problem($"The multipart body is malformed: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
            }

            if (received.Count == 0)
                return NoFiles();
            var results = new List<IngestResult>(received.Count);
            foreach (var part in received)
            {
                try
                {
                    results.Add(part.Rejected ?? await ingest.IngestAsync(http.User.UserId(), vehicleId, part.File!, cancellationToken));
                }
                catch (StoreUnavailableException e)
                {
                    return StoreUnavailable(http, e, results);
                }
            }

            return TypedResults.Ok(new UploadResponse(results));
        }
        finally
        {
            foreach (var part in received)
                if (part.File is { } file)
                    File.Delete(file.TempPath);
        }
    }

    /// <summary>One files part as received: on disk with its hash, or already rejected (too large).</summary>
    private sealed record ReceivedPart(UploadedFile? File, IngestResult? Rejected);

    /// <summary>Streams one part to a temporary file in the store while hashing it; never the whole file in memory.</summary>
    private static async Task<ReceivedPart> ReceiveAsync(Stream body, string fileName, IImageStore store, UploadOptions limits, CancellationToken cancellationToken)
    {
        var temp = store.CreateTempPath();
        var kept = false;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            var tooLarge = false;
            var buffer = new byte[81920];
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    length += read;
                    if (length > limits.MaxFileBytes)
                    {
                        // Read the rest of the part so the next one can follow, but keep none of it.
                        tooLarge = true;
                        continue;
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            if (tooLarge)
                return new ReceivedPart(null, IngestResult.Rejected(fileName, $"file is larger than {ImageIngestService.FormatBytes(limits.MaxFileBytes)}."));
            kept = true;
            return new ReceivedPart(new UploadedFile(fileName, temp, length, Convert.ToHexStringLower(hash.GetHashAndReset())), null);
        }
        finally
        {
            if (!kept)
                File.Delete(temp);
        }
    }

    /// <summary>
    /// 503: the photo store is down. The failing file and those after it left no row and no object;
    /// files stored before the outage are listed in <c>results</c>, so a client resends only the rest.
    /// </summary>
    private static ProblemHttpResult StoreUnavailable(HttpContext http, StoreUnavailableException e, List<IngestResult> before)
    {
        http.Response.Headers.RetryAfter = "10";
        return TypedResults.Problem(
            "Photos cannot be stored right now because the photo store is unavailable; this file and those after it were not kept. Try again shortly.",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "Photo storage unavailable",
            extensions: new Dictionary<string, object?> { ["reason"] = "storage_unavailable", ["results"] = before });
    }

    private static ProblemHttpResult TooManyFiles(UploadOptions limits) => TypedResults.Problem(
        $"The upload has more than {limits.MaxFilesPerRequest} files; nothing was stored. Send at most {limits.MaxFilesPerRequest} files per request.",
        statusCode: StatusCodes.Status413PayloadTooLarge);

    private static ProblemHttpResult TooLarge(UploadOptions limits) => TypedResults.Problem(
        $"The upload is larger than the server accepts in one request ({ImageIngestService.FormatBytes(limits.MaxRequestBytes)}); send fewer files at a time.",
        statusCode: StatusCodes.Status413PayloadTooLarge);

    private static ProblemHttpResult NoFiles() => TypedResults.Problem(
        $"Send multipart/form-data with one or more file parts named '{FilesPartName}'.", statusCode: StatusCodes.Status400BadRequest);

    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary>
    /// Without <c>page</c>, every photo of the vehicle (the contract's list). With <c>page</c> (from 1) and
    /// <c>pageSize</c> (default 50, at most 500), that page in the same shape and the total in <c>X-Total-Count</c>.
    /// </summary>
    private static async Task<Results<Ok<IReadOnlyList<ImageSummary>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        Guid vehicleId, string? status, string? category, string? angle, int? page, int? pageSize, HttpContext http, ImageService images,
        CancellationToken cancellationToken)
    {
        var filter = new ImageFilter(Blank(status), Blank(category), Blank(angle));
        if (page is null && pageSize is null)
        {
            var list = await images.ListAsync(http.User.Caller(), vehicleId, filter, cancellationToken);
            return list is null ? NotFound("No such vehicle.") : TypedResults.Ok(list);
        }

        var errors = new Dictionary<string, string[]>();
        if (page is < 1)
            errors["page"] = ["page counts from 1."];
        if (pageSize is < 1 or > MaxPageSize)
            errors["pageSize"] = [$"pageSize must be between 1 and {MaxPageSize}."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var found = await images.ListPageAsync(http.User.Caller(), vehicleId, filter, page ?? 1, pageSize ?? DefaultPageSize, cancellationToken);
        if (found is null)
            return NotFound("No such vehicle.");
        http.Response.Headers["X-Total-Count"] = found.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Ok(found.Items);
    }

    private static async Task<Results<Ok<ImageDetailResponse>, ProblemHttpResult>> GetAsync(
        Guid id, ClaimsPrincipal user, ImageService images, ProcessingReports reports, CancellationToken cancellationToken)
    {
        if (await images.GetAsync(user.Caller(), id, cancellationToken) is not { } detail)
            return NotFound("No such image.");
        var i = detail.Image;
        var processing = await reports.ForImageAsync(id, i.ProcessingStatus, i.LastError, cancellationToken);
        return TypedResults.Ok(new ImageDetailResponse(i.Id, i.VehicleId, i.FileName, i.ProcessingStatus, i.Attempts, i.LastError,
            i.TakenAt, i.IsPrimary, i.Category, i.Angle, i.Width, i.Height, i.CreatedAt, i.Urls, detail.Exif, detail.AiScanMetadata, detail.Angles,
            processing));
    }

    private static async Task<IResult> GetVariantAsync(
        Guid id, string variant, HttpContext http, ImageService images, CancellationToken cancellationToken)
    {
        (Stream Content, StoredObject Object, string Sha256, string FileName)? opened;
        try
        {
            opened = VariantSet.Names.Contains(variant) ? await images.OpenVariantAsync(http.User.Caller(), id, variant, cancellationToken) : null;
        }
        catch (StoreUnavailableException)
        {
            http.Response.Headers.RetryAfter = "10";
            return TypedResults.Problem("The photo store is unavailable right now; try again shortly.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Photo storage unavailable");
        }

        if (opened is not { } found)
            return NotFound("No such image.");

        var headers = http.Response.Headers;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        // Stored objects never change (content-addressed), but they are private to their owner.
        headers[HeaderNames.CacheControl] = "private, max-age=31536000, immutable";
        // The original is the uploader's bytes (sniffed, yet possibly a polyglot): a download, never a
        // page, and sandboxed should a browser render it anyway. Its name is the owner's, with the
        // extension of what the bytes are; Stream writes filename and filename* encoded.
        string? download = null;
        if (variant == "original")
        {
            headers[HeaderNames.ContentSecurityPolicy] = "sandbox";
            download = DownloadName(found.FileName, found.Object.Key);
        }

        return TypedResults.Stream(found.Content, found.Object.ContentType, download,
            entityTag: new EntityTagHeaderValue($"\"{found.Sha256}-{variant}\""), enableRangeProcessing: true);
    }

    /// <summary>"car.html" whose bytes are a JPEG (stored as <c>….jpg</c>) downloads as "car.jpg": the name says what the bytes are.</summary>
    internal static string DownloadName(string fileName, string storedKey)
    {
        var stem = Path.GetFileNameWithoutExtension(UploadNames.Clean(fileName));
        return (stem.Length > 0 ? stem : "photo") + Path.GetExtension(storedKey);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, ClaimsPrincipal user, ImageService images, CancellationToken cancellationToken) =>
        await images.DeleteAsync(user.Caller(), id, cancellationToken) ? TypedResults.NoContent() : NotFound("No such image.");

    private static async Task<Results<NoContent, ProblemHttpResult>> SetPrimaryAsync(
        Guid id, ClaimsPrincipal user, ImageService images, CancellationToken cancellationToken) =>
        await images.SetPrimaryAsync(user.Caller(), id, cancellationToken) ? TypedResults.NoContent() : NotFound("No such image.");

    /// <summary>202 when the image was failed (or, for an admin, cancelled) and is queued again with fresh attempts; 409 otherwise.</summary>
    private static async Task<Results<Accepted, ProblemHttpResult>> RetryAsync(
        Guid id, ClaimsPrincipal user, ImageService images, CancellationToken cancellationToken) =>
        await images.RetryAsync(user.Caller(), id, cancellationToken) switch
        {
            null => NotFound("No such image."),
            RetryAnswer.Queued => TypedResults.Accepted($"/api/images/{id}"),
            RetryAnswer.Cancelled => TypedResults.Problem(
                "An administrator cancelled the analysis of this photo; only an administrator can queue it again.",
                statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Problem("Only a failed image can be retried.", statusCode: StatusCodes.Status409Conflict),
        };

    private static async Task<Results<Ok<CategorizationRequest>, ValidationProblem, ProblemHttpResult>> CategorizeAsync(
        Guid id, CategorizationRequest request, ClaimsPrincipal user, ImageService images, CancellationToken cancellationToken)
    {
        var (category, angle) = (request.Category?.Trim() ?? "", request.Angle?.Trim() ?? "");
        return await images.CategorizeAsync(user.Caller(), id, category, angle, cancellationToken) switch
        {
            null => NotFound("No such image."),
            false => TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["angle"] = [$"'{category}.{angle}' is not a category and angle from the taxonomy."],
            }),
            true => TypedResults.Ok(new CategorizationRequest(category, angle)),
        };
    }

    private static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound);

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}

/// <summary>A client's file name is only ever a label: shown (escaped), never used as a path.</summary>
public static class UploadNames
{
    public static string Clean(string? name)
    {
        var last = (name ?? "").Replace('\\', '/').Split('/').LastOrDefault() ?? "";
        var cleaned = new string(last.Where(c => !char.IsControl(c)).ToArray()).Trim();
        if (cleaned is "" or "." or "..")
            return "upload";
        return cleaned.Length <= 255 ? cleaned : cleaned[..200] + cleaned[^Math.Min(20, cleaned.Length - 200)..];
    }
}
