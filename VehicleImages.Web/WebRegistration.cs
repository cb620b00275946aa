using MudBlazor.Services;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Components;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Security;
using VehicleImages.Web.Limits;
using VehicleImages.Web.Uploads.Tus;

namespace VehicleImages.Web;

public static class WebRegistration
{
    public static WebApplicationBuilder AddVehicleImagesWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddProblemDetails();
        services.AddVehicleImagesAuth();
        services.AddVehicleImagesSecurity();
        services.AddVehicleImagesLimits();
        services.AddVehicleImagesHealth();
        services.AddSignalR();
        services.AddSingleton<Live.LiveNotifier>();
        services.AddHostedService<Live.LiveRelay>();
        services.AddVehicleImagesObservability(builder.Configuration);
        return builder;
    }

    public static WebApplication MapVehicleImagesWeb(this WebApplication app)
    {
        // First, so that everything after sees the client's address and scheme (only from proxies believed).
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
            // Render batches stay compressed (permessage-deflate, as Blazor's default), but without server context
            // takeover: each message is compressed on its own, so a circuit does not keep a zlib compressor (its
            // window and hash tables, a few hundred KB of native memory) alive between messages for as long as the
            // page is open. A render batch is compressed a little less well; a circuit costs that much less memory,
            // and no earlier message serves as a dictionary for the next (less for a compression oracle to use).
            o.ConfigureWebSocketAcceptContext = (_, accept) =>
            {
                accept.DangerousEnableCompression = true;
                accept.DisableServerContextTakeover = true;
                return Task.CompletedTask;
            };
        });
        app.MapAccountEndpoints();
        app.MapAuthEndpoints();
        app.MapAntiforgeryToken();
        app.MapVehicleEndpoints();
        app.MapImageEndpoints();
        app.MapTusEndpoints();
        app.MapAdminEndpoints();
        app.MapUsageEndpoints();
        app.MapHealthEndpoints();
        app.MapHub<Hubs.ProcessingHub>(Hubs.ProcessingHub.Path);
        app.MapVehicleImagesMetrics();
        return app;
    }
}
