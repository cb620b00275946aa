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
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Privacy;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Storage;
using VehicleImages.Core.Vehicles;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Uploads;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Web.Endpoints;

public sealed record CategorizationRequest(string? Category, string? Angle);

public sealed record PrivacyBoxesRequest(IReadOnlyList<PrivacyBoxInput>? Boxes, bool? NoneVisible);

public sealed record PrivacyBoxesResponse(IReadOnlyList<PrivacyBoxView> PrivacyBoxes, bool PrivacyReviewed);

public sealed record ImageDetailResponse(
    Guid Id, Guid VehicleId, string FileName, string ProcessingStatus, int Attempts, string? LastError,
    DateTimeOffset? TakenAt, bool IsPrimary, string Category, string Angle, int? Width, int? Height,
    DateTimeOffset CreatedAt, ImageUrls Urls, JsonNode? Exif, JsonNode? AiScanMetadata, IReadOnlyList<AngleView> Angles,
    ProcessingView Processing, IReadOnlyList<PrivacyBoxView> PrivacyBoxes, bool PrivacyReviewed)
{
    public Guid? StackId { get; init; }
    public bool IsStackBest { get; init; } = true;
    public int StackSize { get; init; } = 1;
    public VehicleImages.Core.Embeddings.Suggestion? Suggestion { get; init; }
}

public static class ImageEndpoints
{
    public static IEndpointRouteBuilder MapImageEndpoints(this IEndpointRouteBuilder routes)
    {
        var vehicles = routes.MapGroup("/api/vehicles/{vehicleId:guid}/images").WithTags("Images").RequireAuthorization();
        vehicles.MapGet("/", ListAsync);

        var images = routes.MapGroup("/api/images/{id:guid}").WithTags("Images").RequireAuthorization();
        images.MapGet("/", GetAsync);
        images.MapGet("/{variant}", GetVariantAsync);
        images.MapDelete("/", DeleteAsync);
        images.MapPost("/primary", SetPrimaryAsync);
        images.MapPost("/retry", RetryAsync);
        images.MapPut("/categorization", CategorizeAsync);
        images.MapPut("/privacy-boxes", SavePrivacyBoxesAsync);
        return routes;
    }

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
        Guid id, ClaimsPrincipal user, ImageService images, ProcessingReports reports, PrivacyBoxService privacy, CancellationToken cancellationToken)
    {
        if (await images.GetAsync(user.Caller(), id, cancellationToken) is not { } detail)
            return NotFound("No such image.");
        var i = detail.Image;
        var processing = await reports.ForImageAsync(id, i.ProcessingStatus, i.LastError, cancellationToken);
        var boxes = await privacy.GetAsync(id, cancellationToken);
        return TypedResults.Ok(new ImageDetailResponse(i.Id, i.VehicleId, i.FileName, i.ProcessingStatus, i.Attempts, i.LastError,
            i.TakenAt, i.IsPrimary, i.Category, i.Angle, i.Width, i.Height, i.CreatedAt, i.Urls, detail.Exif, detail.AiScanMetadata, detail.Angles,
            processing, boxes.Boxes, boxes.Reviewed) { StackId = i.StackId, IsStackBest = i.IsStackBest, StackSize = i.StackSize, Suggestion = i.Suggestion });
    }

    /// <summary>
    /// The owner's boxes replace every other box of the photo (source <c>user</c>) and mark it reviewed; noneVisible
    /// says there is no plate or face. 400 names the box that is outside the photo, of zero area or of another kind.
    /// </summary>
    private static async Task<Results<Ok<PrivacyBoxesResponse>, ValidationProblem, ProblemHttpResult>> SavePrivacyBoxesAsync(
        Guid id, PrivacyBoxesRequest request, ClaimsPrincipal user, PrivacyBoxService privacy, CancellationToken cancellationToken)
    {
        var noneVisible = request.NoneVisible ?? false;
        var problems = PrivacyBoxService.Validate(request.Boxes, noneVisible);
        if (problems.Count > 0)
            return TypedResults.ValidationProblem(problems);
        return await privacy.SaveAsync(user.UserId(), id, request.Boxes ?? [], noneVisible, cancellationToken) is { } saved
            ? TypedResults.Ok(new PrivacyBoxesResponse(saved.Boxes, saved.Reviewed))
            : NotFound("No such image.");
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
