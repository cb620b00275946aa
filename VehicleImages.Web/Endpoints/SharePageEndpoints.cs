using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Export;
using VehicleImages.Core.Privacy;
using VehicleImages.Core.Sharing;
using VehicleImages.Web.Components.Share;
using VehicleImages.Web.Limits;

namespace VehicleImages.Web.Endpoints;

/// <summary>
/// What a visitor of a share link reaches, without an account (shared/CONTRACT.md, "Share links"): the page, its password
/// form, the photos at thumb/medium/large (each checked against the share's set at that moment, and leaving through
/// <see cref="IPublishedImages"/>), and the zip. Unknown, revoked and expired tokens all answer the same 404. Every request
/// counts against RateLimits:SharePerMinute for its client address.
/// </summary>
public static class SharePageEndpoints
{
    /// <summary>How long a browser may reuse a photo without asking: short, so a revoked share stops showing soon even from its cache.</summary>
    private const string ImageCacheControl = "private, max-age=60";

    /// <summary>A share download slower than this for longer than the grace period is a stalled client: Kestrel ends it.</summary>
    public static readonly MinDataRate DownloadMinRate = new(bytesPerSecond: 16 * 1024, gracePeriod: TimeSpan.FromSeconds(20));

    private const int DownloadRetryAfterSeconds = 10;

    public static IEndpointRouteBuilder MapSharePageEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/s/{token}").AllowAnonymous().RequireRateLimiting(RateLimitPolicies.Share).ExcludeFromDescription();
        group.MapGet("/", PageAsync);
        // The form's antiforgery field is checked in the handler, so that a missing or stale one gets the form back with the reason.
        group.MapPost("/", UnlockAsync).DisableAntiforgery();
        group.MapGet("/i/{imageId:guid}/{size}", ImageAsync);
        group.MapGet("/download", DownloadAsync);
        return routes;
    }

    /// <summary>The access cookie's name; its path is the share's own, so it goes with nothing else.</summary>
    public const string AccessCookie = "share_access";

    private static async Task<IResult> PageAsync(string token, HttpContext http, ShareService shares, IAntiforgery antiforgery,
        CancellationToken cancellationToken)
    {
        var share = await shares.OpenAsync(token, cancellationToken);
        if (share is null)
            return NotFoundPage(http);
        if (!MayView(http, shares, share, token))
            return PasswordPage(http, antiforgery, token, error: null, StatusCodes.Status200OK);
        var photos = await shares.PhotosAsync(share, cancellationToken);
        shares.RecordView(share.Id);
        NoStore(http, share.Indexable);
        return Page(http, new Dictionary<string, object?>
        {
            [nameof(SharePage.Mode)] = SharePageMode.Gallery, [nameof(SharePage.Share)] = share, [nameof(SharePage.Token)] = token,
            [nameof(SharePage.Photos)] = photos, [nameof(SharePage.Origin)] = Origin(http.Request),
        });
    }

    private static async Task<IResult> UnlockAsync(string token, HttpContext http, ShareService shares,
        ShareUnlockThrottle throttle, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        var share = await shares.OpenAsync(token, cancellationToken);
        if (share is null)
            return NotFoundPage(http);
        if (share.PasswordHash is null)
            return TypedResults.Redirect($"/s/{token}", permanent: false);
        if (!http.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(http))
            return PasswordPage(http, antiforgery, token, "The form was out of date; enter the password again.", StatusCodes.Status400BadRequest);
        var password = (await http.Request.ReadFormAsync(cancellationToken))["password"].ToString();
        var client = http.Connection.RemoteIpAddress;
        if (throttle.Wait(client) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return PasswordPage(http, antiforgery, token,
                $"Too many wrong passwords from your address; try again in {Minutes(seconds)}.", StatusCodes.Status429TooManyRequests);
        }
        if (string.IsNullOrEmpty(password) || !ShareService.PasswordMatches(share, password))
        {
            throttle.Failed(client);
            return PasswordPage(http, antiforgery, token, "That password is not right.", StatusCodes.Status200OK);
        }
        http.Response.Cookies.Append(AccessCookie, shares.AccessGrant(share), new CookieOptions
        {
            HttpOnly = true,
            Secure = http.Request.IsHttps,
            SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Lax,
            Path = $"/s/{token}",
            Expires = share.ExpiresAt,
            IsEssential = true,
        });
        // Post/redirect/get: a reload does not send the password again.
        return TypedResults.Redirect($"/s/{token}", permanent: false);
    }

    private static async Task<IResult> ImageAsync(string token, Guid imageId, string size, HttpContext http, ShareService shares,
        IPublishedImages published, CancellationToken cancellationToken)
    {
        if (!BlurredPublishedImages.Sizes.Contains(size))
            return Missing(http);
        var share = await shares.OpenAsync(token, cancellationToken);
        if (share is null || !MayView(http, shares, share, token) || !await shares.ContainsAsync(share, imageId, cancellationToken))
            return Missing(http);
        var image = await published.OpenAsync(imageId, size, cancellationToken);
        if (image is null)
            return Missing(http);
        http.Response.Headers.CacheControl = ImageCacheControl;
        http.Response.Headers.ETag = image.ETag;
        if (http.Request.Headers.IfNoneMatch.Count > 0
            && EntityTagHeaderValue.TryParseList(http.Request.Headers.IfNoneMatch, out var tags)
            && tags.Any(t => t.Tag.Value == image.ETag || t.Equals(EntityTagHeaderValue.Any)))
        {
            await image.Content.DisposeAsync();
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Stream(image.Content, image.ContentType);
    }

    private static async Task<IResult> DownloadAsync(string token, HttpContext http, ShareService shares, ExportService exports,
        IOptions<ExportOptions> options, ILogger<ExportService> logger, CancellationToken cancellationToken)
    {
        var share = await shares.OpenAsync(token, cancellationToken);
        if (share is null || !share.AllowDownload || !MayView(http, shares, share, token))
            return Missing(http);
        var photos = await shares.PhotosAsync(share, cancellationToken);
        if (photos.Count == 0)
            return Missing(http);
        var plan = await exports.PlanAsync(share.VehicleId, [.. photos.Select(p => p.ImageId)], "share", addOthers: false, originalNames: false,
            cancellationToken);
        if (!exports.TryEnterShare(share.Id, options.Value.ConcurrentPerShare))
        {
            http.Response.Headers.RetryAfter = DownloadRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Text("Other people are downloading these photos right now; try again in a few seconds.",
                "text/plain; charset=utf-8", statusCode: StatusCodes.Status429TooManyRequests);
        }

        string? left;
        try
        {
            // A visitor who stops reading would hold the share's place and a buffer for ever: below this rate Kestrel ends it.
            if (http.Features.Get<IHttpMinResponseDataRateFeature>() is { } rate)
                rate.MinDataRate = DownloadMinRate;
            http.Response.Headers.CacheControl = "no-store";
            left = await ExportEndpoints.StreamZipAsync(http, exports, plan, "2048", $"{share.VehicleTitle}-2048.zip");
        }
        finally
        {
            exports.ExitShare(share.Id);
        }
        if (left is not null)
            logger.LogInformation("A share download of {Vehicle} stopped: the visitor left, stalled or the connection failed ({Exception})",
                share.VehicleTitle, left);
        return TypedResults.Empty;
    }

    /// <summary>A share without a password shows to everyone with the link; with one, only to a cookie granted by its current password.</summary>
    private static bool MayView(HttpContext http, ShareService shares, OpenShare share, string token) =>
        share.PasswordHash is null || shares.Grants(share, http.Request.Cookies[AccessCookie]);

    private static RazorComponentResult<SharePage> Page(HttpContext http, Dictionary<string, object?> parameters, int status = StatusCodes.Status200OK)
    {
        http.Response.Headers["X-Robots-Tag"] = parameters.TryGetValue(nameof(SharePage.Share), out var s) && s is OpenShare { Indexable: true }
            && parameters[nameof(SharePage.Mode)] is SharePageMode.Gallery ? "all" : "noindex, nofollow";
        return new RazorComponentResult<SharePage>(parameters) { StatusCode = status, PreventStreamingRendering = true };
    }

    private static IResult NotFoundPage(HttpContext http)
    {
        NoStore(http, indexable: false);
        DisableStatusPages(http);
        return Page(http, new Dictionary<string, object?> { [nameof(SharePage.Mode)] = SharePageMode.NotFound }, StatusCodes.Status404NotFound);
    }

    private static IResult PasswordPage(HttpContext http, IAntiforgery antiforgery, string token, string? error, int status)
    {
        NoStore(http, indexable: false);
        DisableStatusPages(http);
        var tokens = antiforgery.GetAndStoreTokens(http);
        return Page(http, new Dictionary<string, object?>
        {
            [nameof(SharePage.Mode)] = SharePageMode.Password, [nameof(SharePage.Token)] = token, [nameof(SharePage.Error)] = error,
            [nameof(SharePage.AntiforgeryField)] = tokens.FormFieldName, [nameof(SharePage.AntiforgeryToken)] = tokens.RequestToken,
            [nameof(SharePage.Origin)] = Origin(http.Request),
        }, status);
    }

    /// <summary>A bare 404 for image and download URLs: nothing says whether the token, the photo or the size was wrong.</summary>
    private static IResult Missing(HttpContext http)
    {
        DisableStatusPages(http);
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Text("Not found.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
    }

    private static void DisableStatusPages(HttpContext http)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages)
            pages.Enabled = false;
    }

    private static void NoStore(HttpContext http, bool indexable) =>
        http.Response.Headers.CacheControl = indexable ? "private, no-cache" : "private, no-store";

    private static string Origin(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    private static string Minutes(int seconds) => seconds < 90 ? $"{seconds} seconds" : $"{(seconds + 59) / 60} minutes";

}
