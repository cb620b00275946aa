using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Quotas;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

/// <summary>One account's usage against the quotas (0 = unlimited); daily counts start again at <c>dayEndsAt</c> (midnight UTC).</summary>
public sealed record AccountUsageResponse(
    string Email, int Photos, long StoredBytes, long MaxStoredBytes, int PhotosToday, int PhotosPerDay,
    int ProviderCallsToday, int ProviderCallsPerDay, IReadOnlyList<string> Reached, DateTimeOffset DayEndsAt);

public sealed record UserUsageRow(
    Guid UserId, string Email, int Photos, long StoredBytes, int PhotosToday, int ProviderCallsToday, IReadOnlyList<string> Reached);

public sealed record UsersUsageResponse(QuotaLimits Quotas, DateTimeOffset DayEndsAt, IReadOnlyList<UserUsageRow> Users);

/// <summary>Usage and quotas: each account its own, admins everyone's.</summary>
public static class UsageEndpoints
{
    public static IEndpointRouteBuilder MapUsageEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/account/usage", async Task<Results<Ok<AccountUsageResponse>, NotFound>> (
            ClaimsPrincipal user, QuotaService quotas, CancellationToken ct) =>
            await quotas.ForUserAsync(user.UserId(), ct) is { Users: [var u] } report
                ? TypedResults.Ok(new AccountUsageResponse(u.Email, u.Photos, u.StoredBytes, report.Quotas.MaxStoredBytes, u.PhotosToday,
                    report.Quotas.PhotosPerDay, u.ProviderCallsToday, report.Quotas.ProviderCallsPerDay, report.Quotas.ReachedBy(u), report.DayEndsAt))
                : TypedResults.NotFound())
            .WithTags("Account").RequireAuthorization();

        routes.MapGet("/api/admin/users/usage", async (QuotaService quotas, CancellationToken ct) =>
            {
                var report = await quotas.AllUsersAsync(ct);
                return TypedResults.Ok(new UsersUsageResponse(report.Quotas, report.DayEndsAt, report.Users
                    .Select(u => new UserUsageRow(u.UserId, u.Email, u.Photos, u.StoredBytes, u.PhotosToday, u.ProviderCallsToday, report.Quotas.ReachedBy(u)))
                    .ToList()));
            })
            .WithTags("Admin").RequireAuthorization(Policies.Admin);
        return routes;
    }
}
