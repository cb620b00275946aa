using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
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
/// the HTTP client and Npgsql. Prometheus text at /metrics for admins (the role read from the database)
/// and, when Metrics:Port is set, without sign-in on that separate listener; OTLP too when the standard
/// OTEL_EXPORTER_OTLP_ENDPOINT is set. Never "any loopback caller": behind a proxy on the same machine
/// every client is loopback.
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
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, p => p.AddRequirements(new MetricsReaderRequirement()));
        services.AddSingleton<IAuthorizationHandler, MetricsReaderHandler>();
        return services;
    }

    /// <summary>
    /// With Metrics:Port set, a second listener on Metrics:Host (loopback unless it says otherwise) and that
    /// port, beside the app's own URLs, for a Prometheus that scrapes without signing in.
    /// </summary>
    public static WebApplicationBuilder AddVehicleImagesMetricsListener(this WebApplicationBuilder builder)
    {
        if (MetricsPort(builder.Configuration) is not { } port)
            return builder;
        var host = builder.Configuration[$"{MetricsOptions.SectionName}:Host"] is { Length: > 0 } h ? h.Trim() : MetricsOptions.DefaultHost;
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
            host = $"[{host}]";
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } u ? u : VehicleImagesApp.DefaultUrl;
        builder.WebHost.UseUrls([.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), $"http://{host}:{port}"]);
        return builder;
    }

    /// <summary>Metrics:Port when it is a valid port; an invalid one is reported by the options' validation at start-up.</summary>
    internal static int? MetricsPort(IConfiguration configuration) =>
        int.TryParse(configuration[$"{MetricsOptions.SectionName}:Port"], out var port) && port is > 0 and <= 65535 ? port : null;

    /// <summary>Requests that arrive on the metrics listener reach /metrics and nothing else (404).</summary>
    public static IApplicationBuilder UseMetricsListener(this WebApplication app)
    {
        if (MetricsPort(app.Configuration) is not { } port)
            return app;
        return app.UseWhen(c => c.Connection.LocalPort == port && !c.Request.Path.Equals(MetricsPath, StringComparison.OrdinalIgnoreCase),
            other => other.Run(c =>
            {
                c.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }));
    }

    public static WebApplication MapVehicleImagesMetrics(this WebApplication app)
    {
        if (app.Configuration.GetValue(MetricsKey, true))
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(MetricsPolicy);
        return app;
    }
}

public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";
    public const string DefaultHost = "127.0.0.1";

    /// <summary>Unset: /metrics for admins only. Set: /metrics also without sign-in on a listener of its own on this port.</summary>
    [Range(1, 65535, ErrorMessage = "Metrics:Port (Metrics__Port) must be a TCP port from 1 to 65535, or unset.")]
    public int? Port { get; set; }

    /// <summary>The address the metrics listener binds: loopback unless the operator says otherwise (e.g. 0.0.0.0 for a scraper elsewhere).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Metrics:Host (Metrics__Host) must be an address to listen on, e.g. 127.0.0.1.")]
    public string Host { get; set; } = DefaultHost;
}

/// <summary>Who may read /metrics: a request on the metrics listener, or an account the database says is an Admin.</summary>
public sealed class MetricsReaderRequirement : IAuthorizationRequirement;

internal sealed class MetricsReaderHandler(IConfiguration configuration, Core.Accounts.RoleCheck roles) : AuthorizationHandler<MetricsReaderRequirement>
{
    private readonly int? _port = Observability.MetricsPort(configuration);

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, MetricsReaderRequirement requirement)
    {
        if (_port is { } port && context.Resource is HttpContext http && http.Connection.LocalPort == port)
            context.Succeed(requirement);
        else if (context.User.Identity?.IsAuthenticated == true &&
                 Guid.TryParse(context.User.FindFirstValue(ClaimTypes.NameIdentifier), out var id) &&
                 await roles.IsAdminAsync(id))
            context.Succeed(requirement);
    }
}
