using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Export;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

/// <summary>
/// <c>GET /api/vehicles/{id}/export?set=listing|all&amp;size=original|2048|1600|1024</c>: the zip is written straight to the
/// response as it is made (the download starts at once), and stops when the client hangs up.
/// </summary>
public static class ExportEndpoints
{
    /// <summary>How long a refused export is told to wait: exports of a few hundred photos take tens of seconds.</summary>
    private const int RetryAfterSeconds = 10;

    public static IEndpointRouteBuilder MapExportEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/vehicles/{vehicleId:guid}/export", ExportAsync).WithTags("Listings").RequireAuthorization();
        return routes;
    }

    private static async Task<IResult> ExportAsync(Guid vehicleId, string? set, string? size, HttpContext http, ClaimsPrincipal user,
        ExportService exports, IOptions<ExportOptions> options, ILogger<ExportService> logger)
    {
        set ??= "listing";
        size ??= "2048";
        var errors = new Dictionary<string, string[]>();
        if (!ExportService.Sets.Contains(set))
            errors["set"] = [$"'{set}' is not a set; use {string.Join(" or ", ExportService.Sets)}."];
        if (!ExportService.Sizes.Contains(size))
            errors["size"] = [$"'{size}' is not a size; use {string.Join(", ", ExportService.Sizes)}."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);

        var caller = user.Caller();
        var plan = await exports.PlanAsync(caller, vehicleId, set, http.RequestAborted);
        if (plan is null)
            return TypedResults.Problem("No such vehicle.", statusCode: StatusCodes.Status404NotFound);
        if (plan.Photos.Count == 0)
            return TypedResults.Problem(set == "listing"
                    ? "The listing has no photos yet: add photos to it, or wait for the analysis to pick them."
                    : "This vehicle has no photos to export.",
                statusCode: StatusCodes.Status409Conflict);
        if (!exports.TryEnter(caller.UserId, options.Value.ConcurrentPerUser))
        {
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(
                $"{options.Value.ConcurrentPerUser} of your exports are running already; try again when one has finished.",
                statusCode: StatusCodes.Status429TooManyRequests);
        }

        string? left;
        try
        {
            left = await StreamZipAsync(http, exports, plan, size, $"{plan.VehicleName}-{set}-{size}.zip");
        }
        finally
        {
            exports.Exit(caller.UserId);
        }
        if (left is not null)
            logger.LogInformation("Export of {Vehicle} stopped: the client left or the connection failed ({Exception}); its place is free again",
                plan.VehicleName, left);
        else
            logger.LogDebug("Export of {Vehicle} finished: its place is free again", plan.VehicleName);
        return TypedResults.Empty;
    }

    /// <summary>
    /// Streams <paramref name="plan"/> as a zip download named <paramref name="fileName"/>, unbuffered, as it is made (the
    /// owner's export and a share's download alike). Returns null when the zip was written whole, else what ended it early:
    /// the client left or the connection failed. Kestrel cancels RequestAborted on the thread pool after it aborts the
    /// connection, so a write can fail (or the zip's last bytes with it) before the token shows it.
    /// </summary>
    internal static async Task<string?> StreamZipAsync(HttpContext http, ExportService exports, ExportPlan plan, string size, string fileName)
    {
        try
        {
            http.Response.ContentType = "application/zip";
            http.Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
            {
                FileNameStar = fileName,
                FileName = Ascii(fileName),
            }.ToString();
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await http.Response.StartAsync(http.RequestAborted);
            await exports.WriteAsync(plan, size, http.Response.Body, http.RequestAborted);
            return null;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException || http.RequestAborted.IsCancellationRequested)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>The vehicle's name as plain ASCII for the old filename parameter (filename* carries it whole).</summary>
    internal static string Ascii(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
            builder.Append(c is >= ' ' and < (char)127 and not '"' and not '\\' and not '/' ? c : '_');
        return builder.Length == 0 ? "vehicle" : builder.ToString();
    }
}
