using Microsoft.AspNetCore.HttpOverrides;

namespace VehicleImages.Web.Security;

/// <summary>Transport and browser hardening: HTTPS behind a proxy, HSTS, headers, same-origin checks, antiforgery for the API.</summary>
public static class SecuritySetup
{
    public static IServiceCollection AddVehicleImagesSecurity(this IServiceCollection services)
    {
        services.AddAntiforgery(o =>
        {
            o.HeaderName = ApiAntiforgery.HeaderName;
            // Over HTTPS the antiforgery cookie is Secure too (its default never is); the login cookie already follows the request.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        // Which proxies' X-Forwarded-* are believed is set once, with the rate limits (Limits/RateLimiting):
        // by default a proxy on loopback.
        return services;
    }

    /// <summary>First in the pipeline, so that everything after sees the request's real scheme and every answer gets the headers.</summary>
    public static IApplicationBuilder UseVehicleImagesSecurity(this IApplicationBuilder app)
    {
        // HSTS only on HTTPS requests, and (by default) never for localhost.
        app.UseHsts();
        app.UseSecurityHeaders();
        app.UseSameOriginRealtime();
        return app;
    }
}
