using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using VehicleImages.Core.Accounts;

namespace VehicleImages.Web.Auth;

/// <summary>Cookie sign-out for the browser (sign-in and registration are the /account pages).</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder routes)
    {
        // A form post carrying the antiforgery token: a link or an image tag cannot sign a user out.
        routes.MapPost("/account/logout", async (SignInManager<AppUser> signIn, [FromForm] string? returnUrl) =>
        {
            await signIn.SignOutAsync();
            return TypedResults.LocalRedirect("~/account/login");
        });
        return routes;
    }
}
