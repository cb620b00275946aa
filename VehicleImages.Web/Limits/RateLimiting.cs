using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Limits;

/// <summary>The named rate-limit policies; endpoints and pages opt in by name.</summary>
public static class RateLimitPolicies
{
    /// <summary>Sign-in, register and refresh (API and pages), per client address: RateLimits:AuthPerMinute.</summary>
    public const string Auth = "auth";

    /// <summary>Multipart uploads, per user: RateLimits:UploadsPerMinute.</summary>
    public const string Uploads = "uploads";

    /// <summary>Resumable-upload chunks (tus PATCH), per user: RateLimits:UploadPatchesPerMinute.</summary>
    public const string UploadPatches = "upload-patches";

    /// <summary>Owner re-analysis of a vehicle, per user: RateLimits:ReanalyzePerHour.</summary>
    public const string Reanalyze = "reanalyze";

    /// <summary>Share pages, their images and downloads, per client address: RateLimits:SharePerMinute.</summary>
    public const string Share = "share";
}

/// <summary>
/// ASP.NET Core's rate limiter, in memory on each instance (see ADR 008), and the forwarded-headers
/// settings that decide what "the client's address" is. Each limit is a token bucket holding a
/// minute's worth of permits, refilled one at a time through the minute: a burst up to the limit,
/// then the limit per minute, and a Retry-After that says when the next permit comes.
/// </summary>
internal static class RateLimiting
{
    public static IServiceCollection AddVehicleImagesLimits(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((o, settings) =>
        {
            // Nothing named: a proxy on this machine (loopback) is believed, the framework's default, so that
            // behind the usual same-host TLS proxy the limits see each real client, not 127.0.0.1 for all. A
            // client's own X-Forwarded-For reaches the app only through that proxy, which appends the address
            // it saw: only that last entry is taken (ForwardLimit 1). With proxies named, only those are believed.
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            var any = settings.Value.KnownProxies.Count + settings.Value.KnownNetworks.Count > 0;
            if (!any)
                return;

            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in settings.Value.KnownProxies)
                o.KnownProxies.Add(IPAddress.Parse(proxy));
            foreach (var network in settings.Value.KnownNetworks)
                o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            // Walk the chain from the right while each hop is a known proxy: the first unknown address is the client.
            o.ForwardLimit = null;
        });

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = RejectAsync;
            o.AddPolicy(RateLimitPolicies.Auth, http =>
            {
                var perMinute = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.AuthPerMinute;
                // Showing the sign-in page costs nothing; only the posts try a password or create an account.
                return perMinute == 0 || !HttpMethods.IsPost(http.Request.Method)
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter(ClientKey(http.Connection.RemoteIpAddress), _ => PerMinute(perMinute));
            });
            o.AddPolicy(RateLimitPolicies.Uploads, http =>
            {
                var perMinute = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.UploadsPerMinute;
                // Authorization has run: the caller is signed in. Per user, so people behind one NAT do not share.
                var user = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? ClientKey(http.Connection.RemoteIpAddress);
                return perMinute == 0
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter(user, _ => PerMinute(perMinute));
            });
            o.AddPolicy(RateLimitPolicies.UploadPatches, http =>
            {
                var perMinute = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.UploadPatchesPerMinute;
                var user = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? ClientKey(http.Connection.RemoteIpAddress);
                return perMinute == 0
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter("patch:" + user, _ => PerMinute(perMinute));
            });
            o.AddPolicy(RateLimitPolicies.Reanalyze, http =>
            {
                var perHour = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.ReanalyzePerHour;
                var user = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? ClientKey(http.Connection.RemoteIpAddress);
                return perHour == 0
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter(user, _ => Bucket(perHour, TimeSpan.FromHours(1)));
            });
            o.AddPolicy(RateLimitPolicies.Share, http =>
            {
                var perMinute = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.SharePerMinute;
                // Anonymous visitors: per client address (behind a believed proxy, the address it saw), a partition of its own.
                return perMinute == 0
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter("share:" + ClientKey(http.Connection.RemoteIpAddress), _ => PerMinute(perMinute));
            });
        });
        return services;
    }

    private static TokenBucketRateLimiterOptions PerMinute(int permits) => Bucket(permits, TimeSpan.FromMinutes(1));

    /// <summary>A window's worth of permits at once, then one back every window/permits.</summary>
    private static TokenBucketRateLimiterOptions Bucket(int permits, TimeSpan window) => new()
    {
        TokenLimit = permits,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromTicks(window.Ticks / permits),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    /// <summary>
    /// The limiter's key for an address. An IPv6 client usually holds a whole /64 and can pick any
    /// address in it, so IPv6 addresses count per /64; IPv4-mapped addresses count as IPv4.
    /// </summary>
    internal static string ClientKey(IPAddress? address)
    {
        if (address is null)
            return "unknown";
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>429 with Retry-After (whole seconds) and the reason: problem details for the API, plain text for a page's form.</summary>
    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var policy = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName;
        var detail = policy switch
        {
            RateLimitPolicies.Uploads => $"Too many uploads from your account in the last minute; try again in {seconds} s.",
            RateLimitPolicies.UploadPatches => $"Too many upload chunks from your account in the last minute; try again in {seconds} s.",
            RateLimitPolicies.Share => $"Too many requests for shared photos from your address in the last minute; try again in {seconds} s.",
            RateLimitPolicies.Reanalyze => $"Too many re-analysis requests from your account in the last hour; try again in {seconds} s.",
            _ => $"Too many sign-in, registration or token requests from your address; try again in {seconds} s.",
        };
        IResult answer = AuthSetup.IsApi(http.Request)
            ? TypedResults.Problem(detail, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests")
            : TypedResults.Text(detail, "text/plain; charset=utf-8", statusCode: StatusCodes.Status429TooManyRequests);
        await answer.ExecuteAsync(http);
    }
}
