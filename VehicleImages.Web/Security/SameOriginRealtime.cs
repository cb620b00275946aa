namespace VehicleImages.Web.Security;

/// <summary>
/// The SignalR hub and Blazor's circuit are reached with the login cookie, and a WebSocket is not
/// bound by the same-origin policy: a page elsewhere could open one in the user's name. Browsers say
/// where a request comes from in <c>Origin</c>; one that names another origin is refused with 403.
/// Clients that send no Origin are not browsers (they sign in with a bearer token).
/// </summary>
public static class SameOriginRealtime
{
    public static readonly string[] Paths = ["/hubs", "/_blazor"];

    public static IApplicationBuilder UseSameOriginRealtime(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (Paths.Any(p => context.Request.Path.StartsWithSegments(p)) && context.Request.Headers.Origin is { Count: > 0 } origin
            && !IsOwnOrigin(origin.ToString(), context.Request))
        {
            await TypedResults.Problem("Connections from another origin are refused.", statusCode: StatusCodes.Status403Forbidden)
                .ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>Scheme, host and port as the request arrived (after a trusted proxy's X-Forwarded-Proto).</summary>
    internal static bool IsOwnOrigin(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !request.Host.HasValue)
            return false;
        var ownPort = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
               && string.Equals(uri.Host.Trim('[', ']'), request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
               && uri.Port == ownPort;
    }
}
