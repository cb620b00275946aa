using MudBlazor.Services;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Components;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Security;
using VehicleImages.Web.Limits;
using VehicleImages.Web.Uploads;
using VehicleImages.Web.Uploads.Tus;

namespace VehicleImages.Web;

public static class WebRegistration
{
    public static WebApplicationBuilder AddVehicleImagesWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        // Toasts are opaque: at MudBlazor's default 95 % the page shows through and white text on the filled colours
        // drops under 4.5:1 (axe measured 4.35:1 on a success toast; issue 30).
        services.AddMudServices(mud => mud.SnackbarConfiguration.MaximumOpacity = 100);
        services.AddProblemDetails();
        services.AddVehicleImagesAuth();
        services.AddVehicleImagesSecurity();
        services.AddVehicleImagesLimits();
        services.AddVehicleImagesHealth();
        services.AddSignalR();
        services.AddSingleton<Live.LiveNotifier>();
        services.AddSingleton<ShareUnlockThrottle>();
        services.AddHostedService<Live.LiveRelay>();
        services.AddVehicleImagesObservability(builder.Configuration);
        builder.AddVehicleImagesMetricsListener();
        return builder;
    }

    public static WebApplication MapVehicleImagesWeb(this WebApplication app)
    {
        // The metrics listener (Metrics:Port) serves /metrics and nothing else.
        app.UseMetricsListener();
        // First, so that everything after sees the client's address and scheme (only from proxies believed).
        app.UseUntrustedProxyWarning();
        app.UseForwardedHeaders();
        app.UseVehicleImagesSecurity();
        // Unhandled errors become RFC 7807 problem details (no stack traces outside Development).
        app.UseExceptionHandler();
        // Bare status codes: problem details for the API, the not-found page for people.
        app.UseWhen(c => AuthSetup.IsApi(c.Request), api => api.UseStatusCodePages());
        app.UseWhen(c => !AuthSetup.IsApi(c.Request),
            pages => pages.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));

        app.UseAuthentication();
        app.UseAuthorization();
        // After authorization: uploads are limited per signed-in user, and an anonymous upload is a 401 first.
        app.UseRateLimiter();
        app.UseAntiforgery();
        app.UseApiAntiforgery();

        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o =>
        {
            // Blazor's own header would be "frame-ancestors 'self'" alone; SecurityHeaders sends the whole policy, that included.
            o.ContentSecurityFrameAncestorsPolicy = null;
            // Render batches go uncompressed, as before .NET 8. With permessage-deflate (Blazor's default) a
            // circuit keeps a zlib compressor alive for as long as the page is open; without server context
            // takeover it makes and frees one per message instead, and glibc keeps what it freed. Either way a
            // few hundred KB of native memory per open page that no heap shows (ADR 016), and no compression
            // oracle to worry about.
            o.DisableWebSocketCompression = true;
        });
        app.MapAccountEndpoints();
        app.MapAuthEndpoints();
        app.MapAntiforgeryToken();
        app.MapVehicleEndpoints();
        app.MapMultipartUploadEndpoints();
        app.MapImageEndpoints();
        app.MapListingEndpoints();
        app.MapStackEndpoints();
        app.MapExportEndpoints();
        app.MapShareEndpoints();
        app.MapSharePageEndpoints();
        app.MapTusEndpoints();
        app.MapAdminEndpoints();
        app.MapAccountRoleEndpoints();
        app.MapUsageEndpoints();
        app.MapHealthEndpoints();
        app.MapHub<Hubs.ProcessingHub>(Hubs.ProcessingHub.Path);
        app.MapVehicleImagesMetrics();
        return app;
    }
}
