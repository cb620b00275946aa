using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace VehicleImages.Web.Security;

/// <summary>
/// An operator who puts a TLS proxy on another machine and forgets to name it gets plain-HTTP behaviour
/// (no Secure cookies, no HSTS) and every client counted as the proxy. The first request that carries
/// X-Forwarded-Proto from a sender that is not a trusted proxy logs a warning naming the setting, once.
/// </summary>
internal static class ForwardedHeadersWarning
{
    public const string Message =
        "X-Forwarded-Proto arrived from {Address}, which is not a trusted proxy, so the forwarded headers are ignored " +
        "(the scheme and the client's address are the proxy's own). If a proxy forwards to this app, name it in " +
        "ForwardedHeaders__KnownProxies or ForwardedHeaders__KnownNetworks (a proxy on loopback is trusted by default).";

    /// <summary>Before UseForwardedHeaders, which would consume the headers it believes.</summary>
    public static IApplicationBuilder UseUntrustedProxyWarning(this IApplicationBuilder app)
    {
        // Read at the first forwarded request, not here: an invalid setting is reported by the start-up validation.
        var options = app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersOptions>>();
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ForwardedHeadersWarning).FullName!);
        var warned = 0;
        return app.Use(next => context =>
        {
            if (Volatile.Read(ref warned) == 0 && context.Request.Headers.ContainsKey("X-Forwarded-Proto") &&
                context.Connection.RemoteIpAddress is { } address && !Trusted(options.Value, address) &&
                Interlocked.Exchange(ref warned, 1) == 0)
                logger.LogWarning(Message, address);
            return next(context);
        });
    }

    internal static bool Trusted(ForwardedHeadersOptions options, IPAddress address)
    {
        var v4 = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return options.KnownProxies.Any(p => p.Equals(address) || p.Equals(v4)) ||
               options.KnownIPNetworks.Any(n => n.Contains(address) || n.Contains(v4));
    }
}
