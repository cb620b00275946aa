using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Vehicles;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Uploads;

public sealed record UploadResponse(IReadOnlyList<IngestResult> Results);

/// <summary>
/// The multipart upload, <c>POST /api/vehicles/{id}/images</c>: files streamed part by part into ingest. It sits with the
/// resumable (tus) upload under Uploads/: receiving bytes is one concern; reading and editing photos is ImageEndpoints'.
/// </summary>
public static class MultipartUploadEndpoints
{
    public const string FilesPartName = "files";

    public static IEndpointRouteBuilder MapMultipartUploadEndpoints(this IEndpointRouteBuilder routes)
    {
        // The body is streamed part by part, not bound as a form: a cookie-signed upload carries its
        // antiforgery token in a header, checked before this runs (Security/ApiAntiforgery).
        routes.MapPost("/api/vehicles/{vehicleId:guid}/images", UploadAsync).WithTags("Images").RequireAuthorization()
            .DisableAntiforgery().RequireRateLimiting(Limits.RateLimitPolicies.Uploads);
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
