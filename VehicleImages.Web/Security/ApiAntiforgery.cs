using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;

namespace VehicleImages.Web.Security;

public sealed record AntiforgeryTokenResponse(string HeaderName, string RequestToken);

/// <summary>
/// Same-site request forgery: a page on another port or a sibling subdomain is "same site", so the
/// browser sends our SameSite=Lax login cookie with its POSTs. An API call that changes something and
/// is signed in by that cookie must therefore prove it comes from our own pages, with the antiforgery
/// token in the <see cref="HeaderName"/> header; without it the answer is 400 and nothing runs. A
/// bearer token needs no such proof: no other page can make the browser send it.
/// </summary>
public static class ApiAntiforgery
{
    public const string HeaderName = "X-CSRF-TOKEN";
    public const string TokenPath = "/api/antiforgery/token";

    /// <summary>After authentication (it asks how the caller signed in), before any endpoint runs.</summary>
    public static IApplicationBuilder UseApiAntiforgery(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (NeedsToken(context) && !await HasValidTokenAsync(context))
        {
            await TypedResults.Problem(
                $"A change signed in with the browser's cookie must carry the antiforgery token in the {HeaderName} header " +
                $"(GET {TokenPath} returns one). Scripts should sign in with a bearer token instead.",
                statusCode: StatusCodes.Status400BadRequest, title: "Missing or invalid antiforgery token").ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>The page's scripts ask here for the token (bound to the signed-in user and the antiforgery cookie).</summary>
    public static IEndpointRouteBuilder MapAntiforgeryToken(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(TokenPath, (HttpContext http, IAntiforgery antiforgery) =>
            {
                var tokens = antiforgery.GetAndStoreTokens(http);
                http.Response.Headers.CacheControl = "no-store";
                return TypedResults.Ok(new AntiforgeryTokenResponse(HeaderName, tokens.RequestToken!));
            })
            .WithTags("Auth").RequireAuthorization();
        return routes;
    }

    internal static bool NeedsToken(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments("/api")
            || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
            return false;
        // Who signed this request in: the cookie handler's tickets carry its scheme name (a bearer
        // ticket names "Identity.Bearer:AccessToken"); anonymous requests have no ticket.
        var scheme = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Ticket?.AuthenticationScheme;
        return context.User.Identity?.IsAuthenticated == true && scheme == IdentityConstants.ApplicationScheme;
    }

    private static async Task<bool> HasValidTokenAsync(HttpContext context)
    {
        // The header only: without it, antiforgery would look for a form field and read (buffer) a whole multipart upload first.
        if (string.IsNullOrEmpty(context.Request.Headers[HeaderName]))
            return false;
        return await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context);
    }
}
