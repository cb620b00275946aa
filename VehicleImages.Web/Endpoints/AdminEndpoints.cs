using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Endpoints;

public sealed record ProcessingStatusResponse(bool Paused, QueueCounts Counts, IReadOnlyList<TierUsage> Usage, IReadOnlyList<ProviderView> Providers);
public sealed record RequeuedResponse(int Requeued);
public sealed record QueuedResponse(int Queued);
public sealed record InvitationResponse(string Token, string Url, DateTimeOffset ExpiresAt);

/// <summary>The pipeline's controls, for admins only (403 for everyone else).</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(Policies.Admin);
        admin.MapGet("/processing", async (QueueMonitor monitor, ProcessingReports reports, IAnalysisGate providers, CancellationToken ct) =>
            TypedResults.Ok(new ProcessingStatusResponse(await monitor.IsPausedAsync(ct), await monitor.CountsAsync(ct), await reports.UsageAsync(ct),
                await providers.ProvidersAsync(ct))));
        admin.MapPost("/processing/reanalyze", async (ReanalysisFilter? filter, ProcessingCommands commands, CancellationToken ct) =>
            TypedResults.Ok(new QueuedResponse(await commands.ReanalyzeAsync(filter ?? new ReanalysisFilter(), ct))));
        admin.MapPost("/processing/retry-failed", async (ProcessingCommands commands, CancellationToken ct) =>
            TypedResults.Ok(new RequeuedResponse(await commands.RetryAllFailedAsync(ct))));
        admin.MapPost("/processing/backfill", async (ProcessingCommands commands, CancellationToken ct) =>
            TypedResults.Ok(new QueuedResponse(await commands.BackfillAsync(ct))));
        admin.MapPost("/processing/pause", async (ProcessingCommands commands, CancellationToken ct) =>
        {
            await commands.SetPausedAsync(true, ct);
            return TypedResults.NoContent();
        });
        admin.MapPost("/processing/resume", async (ProcessingCommands commands, CancellationToken ct) =>
        {
            await commands.SetPausedAsync(false, ct);
            return TypedResults.NoContent();
        });
        admin.MapGet("/processing/failed", async (ProcessingReports reports, CancellationToken ct) =>
            TypedResults.Ok(await reports.FailedAsync(500, ct)));
        admin.MapGet("/alerts", async (AlertInbox alerts, CancellationToken ct) =>
            TypedResults.Ok(await alerts.LatestAsync(200, ct)));
        admin.MapPost("/alerts/{id:guid}/acknowledge", async Task<Results<NoContent, ProblemHttpResult>> (
            Guid id, ClaimsPrincipal user, AlertInbox alerts, CancellationToken ct) =>
            await alerts.AcknowledgeAsync(id, user.UserId(), ct)
                ? TypedResults.NoContent()
                : TypedResults.Problem("No such unacknowledged alert.", statusCode: StatusCodes.Status404NotFound));
        // An invitation link for Accounts:Registration = invite; the token is shown this once (only its hash is kept).
        admin.MapPost("/invitations", async (HttpContext http, InvitationService invitations, CancellationToken ct) =>
        {
            var created = await invitations.CreateAsync(http.User.UserId(), ct);
            return TypedResults.Ok(new InvitationResponse(created.Token, InvitationUrl(http.Request, created.Token), created.ExpiresAt));
        });
        admin.MapGet("/reports/processing-by-month", async (ProcessingReports reports, CancellationToken ct) =>
            TypedResults.Ok(await reports.ByMonthAsync(ct)));
        return routes;
    }

    /// <summary>The register page's address as the caller reached us (behind a known proxy, its scheme).</summary>
    public static string InvitationUrl(HttpRequest request, string token) =>
        $"{request.Scheme}://{request.Host}{request.PathBase}/account/register?invitation={Uri.EscapeDataString(token)}";
}
