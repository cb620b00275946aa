using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Sharing;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record CreateShareRequest(string? Set, int? ExpiresInDays, string? Password, bool? AllowDownload, bool? Indexable);

public sealed record PatchShareRequest(int? ExpiresInDays, string? Password, bool? AllowDownload, bool? Indexable);

/// <summary>POST's answer: the link to copy.</summary>
public sealed record CreatedShare(Guid Id, string Url, DateTimeOffset ExpiresAt);

/// <summary>A share in the owner's list (shared/CONTRACT.md, "Share links").</summary>
public sealed record ShareDto(Guid Id, string Url, string Set, DateTimeOffset ExpiresAt, bool HasPassword, bool AllowDownload, bool Indexable,
    long Views, DateTimeOffset? LastViewedAt, DateTimeOffset? RevokedAt);

/// <summary>The owner's calls for share links: create, list, change and revoke. Visitors' pages are in <see cref="SharePageEndpoints"/>.</summary>
public static class ShareEndpoints
{
    public static IEndpointRouteBuilder MapShareEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/vehicles/{vehicleId:guid}/shares", CreateAsync).WithTags("Shares").RequireAuthorization();
        routes.MapGet("/api/vehicles/{vehicleId:guid}/shares", ListAsync).WithTags("Shares").RequireAuthorization();
        routes.MapPatch("/api/shares/{shareId:guid}", PatchAsync).WithTags("Shares").RequireAuthorization();
        routes.MapDelete("/api/shares/{shareId:guid}", RevokeAsync).WithTags("Shares").RequireAuthorization();
        return routes;
    }

    /// <summary>The link as the visitor opens it: <c>/s/{token}</c> on this request's scheme and host (behind a believed proxy, the proxy's).</summary>
    public static string Url(HttpRequest request, string token) => $"{request.Scheme}://{request.Host}{request.PathBase}/s/{token}";

    public static ShareDto Dto(HttpRequest request, ShareDetails s) =>
        new(s.Id, Url(request, s.Token), s.Set, s.ExpiresAt, s.HasPassword, s.AllowDownload, s.Indexable, s.Views, s.LastViewedAt, s.RevokedAt);

    private static async Task<Results<Created<CreatedShare>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        Guid vehicleId, CreateShareRequest? request, HttpContext http, ClaimsPrincipal user, ShareService shares, CancellationToken cancellationToken)
    {
        request ??= new CreateShareRequest(null, null, null, null, null);
        var errors = ShareService.Validate(request.Set, request.ExpiresInDays, request.Password);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var share = await shares.CreateAsync(user.Caller(), vehicleId,
            new ShareRequest(request.Set, request.ExpiresInDays, request.Password, request.AllowDownload, request.Indexable), cancellationToken);
        if (share is null)
            return TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);
        var url = Url(http.Request, share.Token);
        return TypedResults.Created(url, new CreatedShare(share.Id, url, share.ExpiresAt));
    }

    private static async Task<Results<Ok<List<ShareDto>>, ProblemHttpResult>> ListAsync(
        Guid vehicleId, HttpContext http, ClaimsPrincipal user, ShareService shares, CancellationToken cancellationToken)
    {
        var list = await shares.ListAsync(user.Caller(), vehicleId, cancellationToken);
        if (list is null)
            return TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(list.Select(s => Dto(http.Request, s)).ToList());
    }

    private static async Task<Results<Ok<ShareDto>, ValidationProblem, ProblemHttpResult>> PatchAsync(
        Guid shareId, PatchShareRequest? request, HttpContext http, ClaimsPrincipal user, ShareService shares, CancellationToken cancellationToken)
    {
        if (request is null)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [""] = ["Send what to change: expiresInDays, password (\"\" removes it), allowDownload or indexable."],
            });
        var errors = ShareService.Validate(null, request.ExpiresInDays, request.Password);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var (outcome, share) = await shares.PatchAsync(user.Caller(), shareId,
            new SharePatch(request.ExpiresInDays, request.Password, request.AllowDownload, request.Indexable), cancellationToken);
        return outcome switch
        {
            ShareChange.NotFound => TypedResults.Problem("No such share.", statusCode: StatusCodes.Status404NotFound),
            ShareChange.Revoked => TypedResults.Problem("This share is revoked; create a new one.", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Ok(Dto(http.Request, share!)),
        };
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        Guid shareId, ClaimsPrincipal user, ShareService shares, CancellationToken cancellationToken) =>
        await shares.RevokeAsync(user.Caller(), shareId, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem("No such share.", statusCode: StatusCodes.Status404NotFound);
}
