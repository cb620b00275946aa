using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using MudBlazor;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Web.Auth;

/// <summary>The Admin policy's second half: the role claim is not enough, the database must still say Admin.</summary>
public sealed class StillAdminRequirement : IAuthorizationRequirement;

internal sealed class StillAdminHandler(RoleCheck roles) : AuthorizationHandler<StillAdminRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, StillAdminRequirement requirement)
    {
        if (context.User.Identity?.IsAuthenticated == true &&
            Guid.TryParse(context.User.FindFirstValue(ClaimTypes.NameIdentifier), out var id) &&
            await roles.IsAdminAsync(id))
            context.Succeed(requirement);
    }
}

/// <summary>
/// An open page (a Blazor circuit) re-checks its user every Accounts:RevalidateSeconds: an account
/// that was deleted, whose security stamp changed (password changed, signed out everywhere) or whose
/// admin role no longer matches the one it signed in with is signed out of the page.
/// </summary>
internal sealed class RevalidatingIdentityStateProvider(
    ILoggerFactory loggerFactory, IServiceScopeFactory scopes, IOptions<AccountOptions> options, IOptions<IdentityOptions> identity)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(options.Value.RevalidateSeconds);

    protected override Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken cancellationToken) =>
        StillValidAsync(state, cancellationToken);

    internal async Task<bool> StillValidAsync(AuthenticationState state, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var user = await users.GetUserAsync(state.User);
        if (user is null)
            return false;
        if (users.SupportsUserSecurityStamp &&
            state.User.FindFirstValue(identity.Value.ClaimsIdentity.SecurityStampClaimType) is { } stamp &&
            stamp != await users.GetSecurityStampAsync(user))
            return false;
        var isAdmin = await scope.ServiceProvider.GetRequiredService<RoleCheck>().IsAdminAsync(user.Id, cancellationToken);
        return isAdmin == state.User.IsInRole(Roles.Admin);
    }
}

/// <summary>What the admin pages' handlers ask before they act: is this page's user an Admin right now?</summary>
public sealed class AdminGuard(AuthenticationStateProvider authentication, RoleCheck roles)
{
    public const string Refusal = "Only administrators can do this. Your account is no longer an administrator.";

    /// <summary>True when the page's user is an Admin now; otherwise says why on <paramref name="snackbar"/>.</summary>
    public async Task<bool> AllowedAsync(ISnackbar? snackbar = null)
    {
        var user = (await authentication.GetAuthenticationStateAsync()).User;
        if (user.Identity?.IsAuthenticated == true &&
            Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) &&
            await roles.IsAdminAsync(id))
            return true;
        snackbar?.Add(Refusal, Severity.Error);
        return false;
    }
}
