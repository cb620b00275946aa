using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VehicleImages.Core.Data;
using Microsoft.AspNetCore.Authorization;
using VehicleImages.Core.Storage;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public static class HealthEndpoints
{
    public static IServiceCollection AddVehicleImagesHealth(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddDbContextCheck<VehicleImagesDbContext>("database")
            .AddCheck<StorageHealthCheck>("storage");
        return services;
    }

    /// <summary>200 when every dependency answers, 503 otherwise; the body names each one and why it is down.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteAsync }).AllowAnonymous();
        return routes;
    }

    private static async Task WriteAsync(HttpContext http, HealthReport report)
    {
        // What is down and why can name hosts and buckets: an admin reads it, anyone else only that it is down
        // (the full reason is in the log either way, written by the check).
        var detailed = (await http.RequestServices.GetRequiredService<IAuthorizationService>()
            .AuthorizeAsync(http.User, Policies.Admin)).Succeeded;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Status == HealthStatus.Healthy ? null
                    : detailed ? e.Value.Description ?? e.Value.Exception?.Message
                    : e.Key == "database" ? "the database did not answer" : "the photo store did not answer",
            }),
        }, JsonSerializerOptions.Web));
    }
}

/// <summary>One cheap round trip to the photo store (a one-key listing of the bucket, or the folder's existence).</summary>
internal sealed class StorageHealthCheck(IImageStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await store.CheckAsync(timeout.Token);
            return HealthCheckResult.Healthy(store.Description);
        }
        catch (StoreUnavailableException e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the photo store ({store.Description}) did not answer within 5 seconds");
        }
    }
}
