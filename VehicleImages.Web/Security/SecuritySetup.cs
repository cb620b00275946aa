namespace VehicleImages.Web.Security;

/// <summary>Browser hardening: same-origin checks for live connections, antiforgery for the API.</summary>
public static class SecuritySetup
{
    public static IServiceCollection AddVehicleImagesSecurity(this IServiceCollection services)
    {
        services.AddAntiforgery(o => o.HeaderName = ApiAntiforgery.HeaderName);
        return services;
    }

    /// <summary>First in the pipeline.</summary>
    public static IApplicationBuilder UseVehicleImagesSecurity(this IApplicationBuilder app)
    {
        app.UseSameOriginRealtime();
        return app;
    }
}
