using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Vehicles;
using VehicleImages.Web.Auth;
using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Web.Endpoints;

public sealed record VehicleResponse(Guid Id, string Name, string? Make, string? Model, int? Year, bool HidePrivacyBoxes)
{
    public static VehicleResponse From(Vehicle v) => new(v.Id, v.Name, v.Make, v.Model, v.Year, v.HidePrivacyBoxes);
}

public sealed record VehicleListItem(
    Guid Id, string Name, string? Make, string? Model, int? Year, DateTimeOffset CreatedAt,
    Guid? PrimaryImageId, VehicleImageCounts ImageCounts);

public sealed record VehicleImageCounts(int Total, int Pending, int Processing, int Complete, int Failed);

public static class VehicleEndpoints
{
    public static IEndpointRouteBuilder MapVehicleEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/vehicles").WithTags("Vehicles").RequireAuthorization();
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{vehicleId:guid}", UpdateAsync);
        group.MapPost("/{vehicleId:guid}/reanalyze", ReanalyzeAsync).RequireRateLimiting(Limits.RateLimitPolicies.Reanalyze);
        return routes;
    }

    private static async Task<Ok<List<VehicleListItem>>> ListAsync(ClaimsPrincipal user, VehicleService vehicles, CancellationToken cancellationToken)
    {
        var list = await vehicles.ListAsync(user.UserId(), cancellationToken);
        return TypedResults.Ok(list.Select(v => new VehicleListItem(
            v.Id, v.Name, v.Make, v.Model, v.Year, v.CreatedAt, v.PrimaryImageId,
            new VehicleImageCounts(v.ImageCounts.Total, v.ImageCounts.Pending, v.ImageCounts.Processing,
                v.ImageCounts.Complete, v.ImageCounts.Failed))).ToList());
    }

    /// <summary>The owner asks for a fresh analysis of every analysed photo of the vehicle (behind new uploads).</summary>
    private static async Task<Results<Ok<QueuedResponse>, NotFound>> ReanalyzeAsync(
        Guid vehicleId, ClaimsPrincipal user, VehicleService vehicles, ProcessingCommands commands, CancellationToken cancellationToken)
    {
        if (await vehicles.FindAsync(user.UserId(), vehicleId) is null)
            return TypedResults.NotFound();
        return TypedResults.Ok(new QueuedResponse(await commands.ReanalyzeAsync(new ReanalysisFilter(VehicleId: vehicleId), cancellationToken)));
    }

    private static async Task<Results<Created<VehicleResponse>, ValidationProblem>> CreateAsync(
        NewVehicle input, ClaimsPrincipal user, VehicleService vehicles, CancellationToken cancellationToken)
    {
        var problems = VehicleService.Validate(input);
        if (problems.Count > 0)
            return TypedResults.ValidationProblem(problems);

        var v = await vehicles.CreateAsync(user.UserId(), input, cancellationToken);
        return TypedResults.Created($"/api/vehicles/{v.Id}", VehicleResponse.From(v));
    }

    /// <summary>The owner's new name and details; <c>hidePrivacyBoxes: false</c> lets plates and faces leave unblurred (recorded).</summary>
    private static async Task<Results<Ok<VehicleResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid vehicleId, VehicleUpdate input, ClaimsPrincipal user, VehicleService vehicles, CancellationToken cancellationToken)
    {
        var problems = VehicleService.Validate(input);
        if (problems.Count > 0)
            return TypedResults.ValidationProblem(problems);

        return await vehicles.UpdateAsync(user.UserId(), vehicleId, input, cancellationToken) is { } v
            ? TypedResults.Ok(VehicleResponse.From(v))
            : TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);
    }
}
