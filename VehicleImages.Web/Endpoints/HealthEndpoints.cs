using VehicleImages.Core.Data;

namespace VehicleImages.Web.Endpoints;

public static class HealthEndpoints
{
    public static IServiceCollection AddVehicleImagesHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddDbContextCheck<VehicleImagesDbContext>("database");
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health").AllowAnonymous();
        return routes;
    }
}
