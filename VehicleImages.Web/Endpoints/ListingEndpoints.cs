using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using VehicleImages.Core.Listings;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record ListingOrderRequest(IReadOnlyList<Guid>? ImageIds);

/// <summary>
/// A vehicle's listing (shared/CONTRACT.md, "Listings and export"): read it (an ETag of its version), store the
/// person's order (If-Match guards two tabs), or go back to the one derived from the analysis.
/// </summary>
public static class ListingEndpoints
{
    public static IEndpointRouteBuilder MapListingEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/vehicles/{vehicleId:guid}/listing").WithTags("Listings").RequireAuthorization();
        group.MapGet("/", GetAsync);
        group.MapPut("/", SaveAsync);
        group.MapPost("/rebuild", RebuildAsync);
        return routes;
    }

    private static async Task<Results<Ok<ListingView>, ProblemHttpResult>> GetAsync(
        Guid vehicleId, HttpContext http, ClaimsPrincipal user, ListingService listings, CancellationToken cancellationToken) =>
        Answer(http, await listings.GetAsync(user.Caller(), vehicleId, cancellationToken));

    private static async Task<Results<Ok<ListingView>, ValidationProblem, ProblemHttpResult>> SaveAsync(
        Guid vehicleId, ListingOrderRequest request, HttpContext http, ClaimsPrincipal user, ListingService listings,
        CancellationToken cancellationToken)
    {
        if (request.ImageIds is not { Count: > 0 } ids)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["imageIds"] = ["List the photos of the listing in order; to go back to the automatic listing, use rebuild."],
            });
        int? ifMatch = null;
        if (http.Request.Headers.IfMatch.Count > 0)
        {
            if (!EntityTagHeaderValue.TryParseList(http.Request.Headers.IfMatch, out var tags) || tags.Count != 1
                || !int.TryParse(tags[0].Tag.Value?.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                return TypedResults.Problem("If-Match must be the listing's ETag, as GET gave it.", statusCode: StatusCodes.Status400BadRequest);
            ifMatch = version;
        }

        var (outcome, view, unknown) = await listings.SaveAsync(user.Caller(), vehicleId, ids, ifMatch, cancellationToken);
        return outcome switch
        {
            ListingSave.NotFound => TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound),
            ListingSave.UnknownPhotos => TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["imageIds"] = [$"Not photos of this vehicle: {string.Join(", ", unknown)}."],
            }),
            ListingSave.Stale => Stale(http, view!),
            _ => Saved(http, view!),
        };
    }

    private static async Task<Results<Ok<ListingView>, ProblemHttpResult>> RebuildAsync(
        Guid vehicleId, HttpContext http, ClaimsPrincipal user, ListingService listings, CancellationToken cancellationToken) =>
        Answer(http, await listings.RebuildAsync(user.Caller(), vehicleId, cancellationToken));

    private static Results<Ok<ListingView>, ProblemHttpResult> Answer(HttpContext http, ListingView? view)
    {
        if (view is null)
            return TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);
        http.Response.Headers.ETag = Tag(view);
        return TypedResults.Ok(view);
    }

    private static Ok<ListingView> Saved(HttpContext http, ListingView view)
    {
        http.Response.Headers.ETag = Tag(view);
        return TypedResults.Ok(view);
    }

    private static ProblemHttpResult Stale(HttpContext http, ListingView current)
    {
        http.Response.Headers.ETag = Tag(current);
        return TypedResults.Problem("The listing changed since you loaded it (another tab or device); reload it and try again.",
            statusCode: StatusCodes.Status412PreconditionFailed);
    }

    private static string Tag(ListingView view) => $"\"{view.Version.ToString(CultureInfo.InvariantCulture)}\"";
}
