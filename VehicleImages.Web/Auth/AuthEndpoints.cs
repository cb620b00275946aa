using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Accounts;

namespace VehicleImages.Web.Auth;

public sealed record RegisterRequest([property: Required] string Email, [property: Required] string Password, string? Invitation = null);
public sealed record LoginRequest([property: Required] string Email, [property: Required] string Password);
public sealed record RefreshRequest([property: Required] string RefreshToken);
public sealed record CurrentUser(Guid Id, string Email, IReadOnlyList<string> Roles);

/// <summary>
/// Token sign-in for API clients. Login and refresh answer with the shape of ASP.NET Core's
/// MapIdentityApi ({tokenType, accessToken, expiresIn, refreshToken}); register is our own because
/// the first account becomes the Admin. The browser signs in through the /account pages instead.
/// </summary>
public static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth").AllowAnonymous().DisableAntiforgery()
            .RequireRateLimiting(Limits.RateLimitPolicies.Auth);
        group.MapPost("/register", RegisterAsync);
        group.MapPost("/login", LoginAsync);
        group.MapPost("/refresh", RefreshAsync);
        routes.MapGet("/api/auth/me", (ClaimsPrincipal user) => TypedResults.Ok(new CurrentUser(
                user.UserId(), user.Identity?.Name ?? "",
                user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList())))
            .WithTags("Auth").RequireAuthorization();
        return routes;
    }

    private static async Task<Results<Ok, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        RegisterRequest request, AccountService accounts, CancellationToken cancellationToken)
    {
        var result = await accounts.RegisterAsync(request.Email ?? "", request.Password ?? "", request.Invitation, cancellationToken);
        // A taken address answers exactly as a free one: the API does not tell who has an account here.
        if (result.Succeeded || result.AddressTaken)
            return TypedResults.Ok();
        // Refused by Accounts:Registration (closed, or no valid invitation), not by what was typed.
        return result.NotAllowed
            ? TypedResults.Problem(string.Join(" ", result.Errors), statusCode: StatusCodes.Status403Forbidden, title: "Registration not allowed")
            : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["registration"] = [.. result.Errors] });
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> LoginAsync(
        LoginRequest request, SignInManager<AppUser> signIn, SignInLockout lockout, HttpContext http)
    {
        var email = request.Email ?? "";
        var client = http.Connection.RemoteIpAddress;
        if (lockout.IsLockedOut(email, client))
            return TypedResults.Problem(SignInLockout.LockedMessage, statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in failed");

        // The bearer handler writes the token response itself when the sign-in succeeds. Identity's
        // per-account lockout stays off: a stranger's failures lock only the stranger's address (SignInLockout).
        signIn.AuthenticationScheme = IdentityConstants.BearerScheme;
        var result = await signIn.PasswordSignInAsync(email, request.Password ?? "", isPersistent: false, lockoutOnFailure: false);
        if (result.Succeeded)
        {
            lockout.Succeeded(email, client);
            return TypedResults.Empty;
        }

        lockout.Failed(email, client);
        var detail = result.IsLockedOut ? "Too many failed attempts; try again later." : "Wrong email or password.";
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in failed");
    }

    private static async Task<Results<SignInHttpResult, ChallengeHttpResult>> RefreshAsync(
        RefreshRequest request, SignInManager<AppUser> signIn, IOptionsMonitor<BearerTokenOptions> bearerOptions, TimeProvider time)
    {
        var protector = bearerOptions.Get(IdentityConstants.BearerScheme).RefreshTokenProtector;
        var ticket = protector.Unprotect(request.RefreshToken);
        if (ticket?.Properties.ExpiresUtc is not { } expires || time.GetUtcNow() >= expires
            || await signIn.ValidateSecurityStampAsync(ticket.Principal) is not { } user)
            return TypedResults.Challenge();

        var principal = await signIn.CreateUserPrincipalAsync(user);
        return TypedResults.SignIn(principal, authenticationScheme: IdentityConstants.BearerScheme);
    }
}
