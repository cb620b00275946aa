using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace VehicleImages.Web.Security;

/// <summary>
/// Headers on every response: <c>X-Content-Type-Options: nosniff</c>, and the pages' Content-Security-Policy
/// unless the endpoint set a policy of its own (the original photo is served sandboxed).
/// </summary>
public static class SecurityHeaders
{
    private const string NonceKey = "VehicleImages.CspNonce";

    /// <summary>
    /// Scripts come from the app itself; the one inline script, Blazor's import map, carries this
    /// request's nonce. MudBlazor sets inline styles, so styles may be inline. Blazor's circuit is a
    /// WebSocket to the same origin ('self' covers ws: and wss: there). Nobody else may frame the pages.
    /// </summary>
    public static string PagePolicy(string nonce) =>
        "default-src 'self'; " +
        $"script-src 'self' 'nonce-{nonce}'; " +
        "style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data: blob:; " +
        "font-src 'self' data:; " +
        "connect-src 'self'; " +
        "object-src 'none'; " +
        "base-uri 'self'; " +
        "form-action 'self'; " +
        "frame-ancestors 'self'";

    /// <summary>This request's nonce for inline scripts (made on first use, the same for the page and the header).</summary>
    public static string Nonce(HttpContext context)
    {
        if (context.Items[NonceKey] is not string nonce)
            context.Items[NonceKey] = nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(18));
        return nonce;
    }

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers[HeaderNames.XContentTypeOptions] = "nosniff";
            if (!headers.ContainsKey(HeaderNames.ContentSecurityPolicy))
                headers[HeaderNames.ContentSecurityPolicy] = PagePolicy(Nonce(context));
            return Task.CompletedTask;
        });
        return next(context);
    });
}
