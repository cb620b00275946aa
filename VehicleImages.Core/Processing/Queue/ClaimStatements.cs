using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;

namespace VehicleImages.Core.Processing;

/// <summary>
/// The statements a <see cref="JobClaim"/> runs for itself, one round trip each. Every one is fenced by
/// id, status, owner and attempt, so a claim that was lost (lease expired and rescued, or taken by
/// another worker) changes nothing; every time is the database's now().
/// </summary>
internal sealed class ClaimStatements(NpgsqlDataSource db)
{
    private const string Fence = $"j.id = @job AND j.status = '{Images.ProcessingStatus.Processing}' AND j.locked_by = @owner AND j.attempt = @attempt";

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
            SELECT count(*) FROM saved
            """);
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("merge", NpgsqlDbType.Jsonb, merge.ToJsonString());
        cmd.Parameters.AddWithValue("provider_call", usage is not null);
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    /// <summary>
    /// Ends a failed attempt in one statement: the job pending again after <paramref name="delay"/>
    /// (or failed), the photo's status and reason, and the attempt's history row.
    /// </summary>
    public async Task<FailOutcome?> FailAsync(ClaimKey claim, string error, bool final, TimeSpan delay, int tierReached, string? outageOf,
        CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH job AS (
                UPDATE image_processing_jobs j
                SET status = @status, run_at = now() + @delay, last_error = @error, updated_at = now(),
                    locked_by = NULL, lease_until = NULL, finished_at = CASE WHEN @final THEN now() END, outage_provider = @outage,
                    outage_attempts = CASE WHEN @outage IS NULL THEN 0 WHEN j.outage_provider = @outage THEN j.outage_attempts + 1 ELSE 1 END
                WHERE {Fence}
                RETURNING j.id, j.image_id, j.attempt),
            image AS (
                UPDATE vehicle_images v SET processing_status = @status, processing_error = @error
                FROM job WHERE v.id = job.image_id
                RETURNING v.file_name),
            attempt AS (
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, error)
                SELECT job.id, job.image_id, job.attempt, @started, now(), @tier, @outcome, @error FROM job)
            SELECT file_name FROM image
            """);
        AddFence(cmd, claim);
        cmd.Parameters.AddWithValue("status", final ? Failed : Pending);
        cmd.Parameters.AddWithValue("delay", delay);
        cmd.Parameters.AddWithValue("error", error);
        cmd.Parameters.AddWithValue("final", final);
        cmd.Parameters.AddWithValue("started", claim.StartedAt);
        cmd.Parameters.AddWithValue("tier", tierReached);
        cmd.Parameters.AddWithValue("outcome", final ? AttemptOutcome.Failed : AttemptOutcome.Retry);
        cmd.Parameters.AddWithValue("outage", NpgsqlDbType.Text, (object?)outageOf ?? DBNull.Value);
        return await cmd.ExecuteScalarAsync(cancellationToken) is string fileName ? new FailOutcome(final, fileName) : null;
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
            UPDATE vehicle_images v SET processing_status = '{Pending}' FROM released WHERE v.id = released.image_id
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
