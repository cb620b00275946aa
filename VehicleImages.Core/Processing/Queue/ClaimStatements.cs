using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>
/// The statements a <see cref="JobClaim"/> runs for itself, one round trip each. Every one is fenced by
/// id, status, owner and attempt, so a claim that was lost (lease expired and rescued, or taken by
/// another worker) changes nothing; every time is the database's now().
/// </summary>
internal sealed class ClaimStatements(NpgsqlDataSource db)
{
    /// <summary>
    /// The fence: the job, its owner and its attempt. Only a job in processing has an owner (the check
    /// constraint ck_image_processing_jobs_locked), so this says "still ours, still this attempt"
    /// without naming the status: a status test would match the predicates of the partial indexes on
    /// status, and the planner, thinking processing jobs rare, scanned one of those whole (with its dead
    /// entries) instead of looking the ids up (ADR 013).
    /// </summary>
    internal const string Fence = "j.id = @job AND j.locked_by = @owner AND j.attempt = @attempt";

    public async Task<bool> RenewAsync(ClaimKey claim, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"UPDATE image_processing_jobs j SET lease_until = now() + @lease WHERE {Fence}");
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("lease", lease);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Merges one tier's answer (and the usage totals, when given) into ai_scan_metadata while the claim
    /// is ours. An answer with usage came from a provider call: the same statement counts that call for
    /// the photo's owner today (user_daily_usage), which Quotas:ProviderCallsPerDay reads at the claim.
    /// </summary>
    public async Task<bool> SaveTierAsync(ClaimKey claim, Tier tier, JsonObject answer, JsonObject? usage, CancellationToken cancellationToken)
    {
        var merge = new JsonObject { [tier.Key()] = answer };
        if (usage is not null)
            merge[Tiers.UsageKey] = usage;
        await using var cmd = db.CreateCommand($"""
            WITH saved AS (
                UPDATE vehicle_images v
                SET ai_scan_metadata = coalesce(v.ai_scan_metadata, jsonb_build_object()) || @merge::jsonb
                FROM image_processing_jobs j
                WHERE v.id = j.image_id AND {Fence}
                RETURNING v.user_id),
            counted AS (
                INSERT INTO user_daily_usage AS u (user_id, day, provider_calls)
                SELECT user_id, {Quotas.QuotaService.Today}, 1 FROM saved WHERE @provider_call
                ON CONFLICT (user_id, day) DO UPDATE SET provider_calls = u.provider_calls + 1)
            SELECT count(*) FROM saved CROSS JOIN ({StatusAnnouncement.NoStatusChange}) mark
            """);
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("merge", NpgsqlDbType.Jsonb, merge.ToJsonString());
        cmd.Parameters.AddWithValue("provider_call", usage is not null);
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    /// <summary>
    /// Ends a failed attempt in one statement: the job pending again after <paramref name="delay"/>
    /// (or failed), the photo's status and reason, and the attempt's history row (naming the provider
    /// and model asked, when one was).
    /// </summary>
    public async Task<FailOutcome?> FailAsync(ClaimKey claim, string error, bool final, TimeSpan delay, int tierReached, string? outageOf,
        string? provider, string? model, CancellationToken cancellationToken)
    {
        // An outage failure of a provider already marked unavailable (by any instance) spends nothing:
        // the photo waits with this attempt and any earlier outage attempts given back. The provider's
        // row is read FOR SHARE, by name only: a mark in progress holds that row, so this statement waits
        // for it and reads the state it committed. A plain read (or a lock only on unavailable rows,
        // which the snapshot still shows available) sees the old state while the mark's give-back, run
        // before this commits, passes the job by in processing: the photo waited with a spent attempt.
        // The mark gives back in a later statement than its flip, so a failure that locked the row first
        // is committed and seen by then (ProviderHealth.ReportOutageAsync).
        await using var cmd = db.CreateCommand($"""
            WITH down AS (
                SELECT coalesce((SELECT p.state = '{ProviderStates.Unavailable}' FROM analysis_providers p WHERE p.name = @outage FOR SHARE), false) AS waits),
            job AS (
                UPDATE image_processing_jobs j
                SET status = CASE WHEN d.waits THEN '{Pending}' ELSE @status END,
                    run_at = CASE WHEN d.waits THEN now() ELSE now() + @delay END, last_error = @error, updated_at = now(),
                    locked_by = NULL, lease_until = NULL, finished_at = CASE WHEN @final AND NOT d.waits THEN now() END,
                    attempt = CASE WHEN d.waits
                        THEN greatest(j.attempt - 1 - CASE WHEN j.outage_provider = @outage THEN j.outage_attempts ELSE 0 END, 0)
                        ELSE j.attempt END,
                    outage_provider = CASE WHEN d.waits THEN NULL ELSE @outage END,
                    outage_attempts = CASE WHEN d.waits OR @outage IS NULL THEN 0 WHEN j.outage_provider = @outage THEN j.outage_attempts + 1 ELSE 1 END
                FROM down d
                WHERE {Fence}
                RETURNING j.id, j.image_id, d.waits),
            image AS (
                {PhotoStatus.Fail}
                RETURNING v.file_name, job.waits),
            attempt AS (
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, error, provider, model)
                SELECT job.id, job.image_id, @attempt, @started, now(), @tier, CASE WHEN job.waits THEN '{AttemptOutcome.Retry}' ELSE @outcome END, @error,
                       @provider, @model FROM job)
            SELECT file_name, waits FROM image
            """);
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("status", PhotoStatus.AfterFailure(final));
        cmd.Parameters.AddWithValue("delay", delay);
        cmd.Parameters.AddWithValue("error", error);
        cmd.Parameters.AddWithValue("final", final);
        cmd.Parameters.AddWithValue("started", claim.StartedAt);
        cmd.Parameters.AddWithValue("tier", tierReached);
        cmd.Parameters.AddWithValue("outcome", final ? AttemptOutcome.Failed : AttemptOutcome.Retry);
        cmd.Parameters.AddWithValue("outage", NpgsqlDbType.Text, (object?)outageOf ?? DBNull.Value);
        cmd.Parameters.AddWithValue("provider", NpgsqlDbType.Text, (object?)provider ?? DBNull.Value);
        cmd.Parameters.AddWithValue("model", NpgsqlDbType.Text, (object?)model ?? DBNull.Value);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new FailOutcome(final && !reader.GetBoolean(1), reader.GetString(0)) : null;
    }

    /// <summary>Back to the queue without spending the attempt, due after <paramref name="after"/>.</summary>
    public async Task<bool> ReleaseAsync(ClaimKey claim, TimeSpan after, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH released AS (
                UPDATE image_processing_jobs j
                SET status = '{Pending}', attempt = j.attempt - 1, run_at = now() + @after, updated_at = now(),
                    locked_by = NULL, lease_until = NULL
                WHERE {Fence}
                RETURNING j.image_id)
            {PhotoStatus.Release}
            """);
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("after", after);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static void AddFence(NpgsqlCommand cmd, ClaimKey claim)
    {
        cmd.Parameters.AddWithValue("job", claim.JobId);
        cmd.Parameters.AddWithValue("owner", claim.Owner);
        cmd.Parameters.AddWithValue("attempt", claim.Attempt);
    }
}

/// <summary>How an attempt ended, as image_processing_attempts.outcome records it.</summary>
public static class AttemptOutcome
{
    public const string Complete = "complete";
    public const string Retry = "retry";
    public const string Failed = "failed";
    public const string Rescued = "rescued";
}
