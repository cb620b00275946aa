using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Auth;
using VehicleImages.Core.Processing.Admin;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Web.Endpoints;

public sealed record ProcessingStatusResponse(bool Paused, QueueCounts Counts, IReadOnlyList<TierUsage> Usage, IReadOnlyList<ProviderView> Providers);
public sealed record RequeuedResponse(int Requeued);
public sealed record QueuedResponse(int Queued);
public sealed record AffectedResponse(int Affected);

/// <summary>A job with its attempt timeline, flat as the contract lists it.</summary>
public sealed record JobDetailResponse(long JobId, Guid ImageId, string FileName, Guid VehicleId, string OwnerEmail, string Status, int Attempt,
    int MaxAttempts, short Priority, string? LastError, DateTimeOffset RunAt, DateTimeOffset UpdatedAt, IReadOnlyList<JobAttemptView> Attempts);
public sealed record InvitationResponse(string Token, string Url, DateTimeOffset ExpiresAt);

/// <summary>The pipeline's controls, for admins only (403 for everyone else).</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(Policies.Admin);
        admin.MapGet("/processing", async (QueueMonitor monitor, ProcessingReports reports, IAnalysisGate providers, CancellationToken ct) =>
            TypedResults.Ok(new ProcessingStatusResponse(await monitor.IsPausedAsync(ct), await monitor.CountsAsync(ct), await reports.UsageAsync(ct),
                WithUsage(await providers.ProvidersAsync(ct), await reports.UsageByProviderAsync(ct)))));
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
        admin.MapGet("/jobs", async (string? status, string? q, Guid? vehicleId, Guid? userId, int? page, int? pageSize,
            JobExplorer jobs, CancellationToken ct) =>
            TypedResults.Ok(await jobs.ListAsync(new JobFilter(status, q, vehicleId, userId), page ?? 1, pageSize ?? JobExplorer.DefaultPageSize, ct)));
        admin.MapGet("/jobs/{jobId:long}", async Task<Results<Ok<JobDetailResponse>, NotFound>> (long jobId, JobExplorer jobs, CancellationToken ct) =>
            await jobs.GetAsync(jobId, ct) is { Job: var j } detail
                ? TypedResults.Ok(new JobDetailResponse(j.JobId, j.ImageId, j.FileName, j.VehicleId, j.OwnerEmail, j.Status, j.Attempt, j.MaxAttempts,
                    j.Priority, j.LastError, j.RunAt, j.UpdatedAt, detail.Attempts))
                : TypedResults.NotFound());
        admin.MapPost("/jobs/retry", (JobSelection selection, ProcessingCommands commands, CancellationToken ct) =>
            BulkAsync(selection, s => commands.RetryJobsAsync(s, ct)));
        admin.MapPost("/jobs/cancel", (JobSelection selection, ProcessingCommands commands, CancellationToken ct) =>
            BulkAsync(selection, s => commands.CancelJobsAsync(s, ct)));
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

    private static async Task<Results<Ok<AffectedResponse>, ProblemHttpResult>> BulkAsync(JobSelection selection, Func<JobSelection, Task<int>> act) =>
        (selection.JobIds is null) == (selection.Filter is null)
            ? TypedResults.Problem("Send either jobIds or filter.", statusCode: StatusCodes.Status400BadRequest)
            : TypedResults.Ok(new AffectedResponse(await act(selection)));

    public static IReadOnlyList<ProviderView> WithUsage(IReadOnlyList<ProviderView> providers, IReadOnlyList<ProviderUsage> usage) =>
        [.. providers.Select(p => usage.FirstOrDefault(u => u.Provider == p.Name) is { } u
            ? p with { Calls = u.Calls, InputTokens = u.InputTokens, OutputTokens = u.OutputTokens }
            : p)];
    /// <summary>The register page's address as the caller reached us (behind a known proxy, its scheme).</summary>
    public static string InvitationUrl(HttpRequest request, string token) =>
        $"{request.Scheme}://{request.Host}{request.PathBase}/account/register?invitation={Uri.EscapeDataString(token)}";
}
