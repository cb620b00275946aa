using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Accounts;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record RoleRequest(string? Role);

/// <summary>Admins promote and demote accounts: <c>PUT /api/admin/users/{id}/role</c> <c>{role: "Admin" | "User"}</c>.</summary>
public static class AccountRoleEndpoints
{
    public static IEndpointRouteBuilder MapAccountRoleEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPut("/api/admin/users/{id:guid}/role", SetRoleAsync).WithTags("Admin").RequireAuthorization(Policies.Admin);
        return routes;
    }

    private static async Task<Results<Ok<AccountRole>, ProblemHttpResult>> SetRoleAsync(
        Guid id, RoleRequest request, ClaimsPrincipal user, AccountRoles accounts, HubAdmins hubAdmins, CancellationToken ct)
    {
        bool? admin = request.Role?.Trim() switch
        {
            { } r when r.Equals(Roles.Admin, StringComparison.OrdinalIgnoreCase) => true,
            { } r when r.Equals(Roles.User, StringComparison.OrdinalIgnoreCase) => false,
            _ => null,
        };
        if (admin is null)
            return TypedResults.Problem("role must be \"Admin\" or \"User\".", statusCode: StatusCodes.Status400BadRequest, title: "Invalid role");

        var outcome = await accounts.SetRoleAsync(user.UserId(), id, admin.Value, ct);
        switch (outcome)
        {
            case RoleChangeOutcome.NotFound:
                return TypedResults.Problem("No such account.", statusCode: StatusCodes.Status404NotFound);
            case RoleChangeOutcome.NotAllowed:
                return TypedResults.Problem(AccountRoles.NotAllowedReason, statusCode: StatusCodes.Status403Forbidden);
            case RoleChangeOutcome.LastAdmin:
                return TypedResults.Problem(AccountRoles.LastAdminReason, statusCode: StatusCodes.Status409Conflict, title: "The last administrator");
            case RoleChangeOutcome.Changed:
                // This instance's hub connections at once; the others hear the NOTIFY.
                await hubAdmins.RecheckAsync(id, ct);
                break;
        }

        return await accounts.GetAsync(id, ct) is { } account
            ? TypedResults.Ok(account)
            : TypedResults.Problem("No such account.", statusCode: StatusCodes.Status404NotFound);
    }
}
