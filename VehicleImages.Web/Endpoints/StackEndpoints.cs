using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Embeddings;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record StackMergeRequest(IReadOnlyList<Guid>? ImageIds);

public sealed record StackMergeResponse(Guid StackId);

public sealed record SuggestionAccepted(string Category, string Angle);

public sealed record KeepBestResponse(int Deleted, IReadOnlyList<KeptPhoto> Kept);

/// <summary>
/// Near-duplicate stacks (shared/CONTRACT.md, "Embeddings, stacks and suggestions"): split a photo out, merge photos,
/// pick a stack's best, and keep only the bests of a vehicle; accept a suggestion.
/// </summary>
public static class StackEndpoints
{
    public static IEndpointRouteBuilder MapStackEndpoints(this IEndpointRouteBuilder routes)
    {
        var images = routes.MapGroup("/api/images/{id:guid}").WithTags("Stacks").RequireAuthorization();
        images.MapPost("/stack/split", SplitAsync);
        images.MapPost("/stack/best", BestAsync);
        images.MapPost("/suggestion/accept", AcceptSuggestionAsync).WithTags("Suggestions");
        routes.MapPost("/api/stacks/merge", MergeAsync).WithTags("Stacks").RequireAuthorization();
        routes.MapPost("/api/vehicles/{vehicleId:guid}/stacks/keep-best", KeepBestAsync).WithTags("Stacks").RequireAuthorization();
        return routes;
    }

    private static async Task<Results<Ok<StackInfo>, ProblemHttpResult>> SplitAsync(
        Guid id, ClaimsPrincipal user, StackService stacks, CancellationToken cancellationToken) =>
        await stacks.SplitAsync(user.Caller(), id, cancellationToken) == StackChange.NotFound
            ? NotFound("No such image.")
            : TypedResults.Ok(StackInfo.Alone);

    private static async Task<Results<Ok<StackInfo>, ProblemHttpResult>> BestAsync(
        Guid id, ClaimsPrincipal user, StackService stacks, CancellationToken cancellationToken) =>
        await stacks.PickBestAsync(user.Caller(), id, cancellationToken) switch
        {
            StackChange.NotFound => NotFound("No such image."),
            StackChange.NotStacked => TypedResults.Problem("This photo is not in a stack; there is no best to pick.", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Ok(await DescribeAsync(stacks, user, id, cancellationToken)),
        };

    private static async Task<StackInfo> DescribeAsync(StackService stacks, ClaimsPrincipal user, Guid id, CancellationToken cancellationToken) =>
        await stacks.DescribeImageAsync(user.Caller(), id, cancellationToken) ?? StackInfo.Alone;

    private static async Task<Results<Ok<StackMergeResponse>, ValidationProblem>> MergeAsync(
        StackMergeRequest request, ClaimsPrincipal user, StackService stacks, CancellationToken cancellationToken)
    {
        var (outcome, stackId, problem) = await stacks.MergeAsync(user.Caller(), request.ImageIds ?? [], cancellationToken);
        return outcome == StackChange.Done
            ? TypedResults.Ok(new StackMergeResponse(stackId!.Value))
            : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["imageIds"] = [problem ?? "these photos cannot be merged"] });
    }

    private static async Task<Results<Ok<KeepBestResponse>, ProblemHttpResult>> KeepBestAsync(
        Guid vehicleId, ClaimsPrincipal user, KeepBest keepBest, CancellationToken cancellationToken) =>
        await keepBest.RunAsync(user.Caller(), vehicleId, cancellationToken) is { } outcome
            ? TypedResults.Ok(new KeepBestResponse(outcome.Deleted, outcome.Kept))
            : NotFound("No such vehicle.");

    private static async Task<Results<Ok<SuggestionAccepted>, ProblemHttpResult>> AcceptSuggestionAsync(
        Guid id, ClaimsPrincipal user, SuggestionService suggestions, VehicleImages.Core.Images.ImageService images, CancellationToken cancellationToken)
    {
        var (outcome, suggestion) = await suggestions.AcceptAsync(user.Caller(), id, images, cancellationToken);
        return outcome switch
        {
            SuggestionAccept.NotFound => NotFound("No such image."),
            SuggestionAccept.NoSuggestion => TypedResults.Problem("This photo has no suggestion to accept (no sorted photo of yours is close enough, or you categorized it already).",
                statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Ok(new SuggestionAccepted(suggestion!.Category, suggestion.Angle)),
        };
    }

    private static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound);
}
