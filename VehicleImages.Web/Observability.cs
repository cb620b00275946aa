using System.Net;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using VehicleImages.Core.Observability;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web;

/// <summary>
/// Metrics and traces with OpenTelemetry: the VehicleImages meter and activity source, ASP.NET Core,
/// the HTTP client and Npgsql. Prometheus text at /metrics for loopback clients and admins; OTLP too
/// when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public static class Observability
{
    public const string MetricsPath = "/metrics";
    public const string MetricsPolicy = "metrics";

    /// <summary>Records spans without an OTLP endpoint too, for an exporter of the host's own (tests use an in-memory one).</summary>
    public const string TracingKey = "Telemetry:Tracing";

    /// <summary>Metrics are on unless this is false (the benchmark compares the queue with both off).</summary>
    public const string MetricsKey = "Telemetry:Metrics";

    public static IServiceCollection AddVehicleImagesObservability(this IServiceCollection services, IConfiguration configuration)
    {
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(Telemetry.Name));
        if (configuration.GetValue(MetricsKey, true))
        {
            otel.WithMetrics(m => m
                .AddMeter(Telemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());
        }
        // Spans are recorded only when something receives them: with nowhere to send them, a span for
        // every queue statement would be work for nothing.
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (otlp || configuration.GetValue<bool>(TracingKey))
        {
            otel.WithTracing(t => t
                .AddSource(Telemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments(MetricsPath))
                // The alert webhook's URL carries its receiver's secret: its calls are never traced.
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = r =>
                    !(r.Options.TryGetValue(Core.Alerts.AlertService.Untraced, out var untraced) && untraced))
                .AddNpgsql());
        }

        if (otlp)
            otel.UseOtlpExporter();
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, p => p.RequireAssertion(c => MayReadMetrics(c.Resource as HttpContext, c.User)));
        return services;
    }

    /// <summary>Loopback clients (a Prometheus beside the app) and admins; nobody else.</summary>
    public static bool MayReadMetrics(HttpContext? http, System.Security.Claims.ClaimsPrincipal user) =>
        http?.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip) || user.IsInRole(Core.Accounts.Roles.Admin);

    public static WebApplication MapVehicleImagesMetrics(this WebApplication app)
    {
        if (app.Configuration.GetValue(MetricsKey, true))
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(MetricsPolicy);
        return app;
    }
}
