using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using Npgsql;
using VehicleImages.Core.Observability;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>A photo whose attempts ran out, for alerts.</summary>
public sealed record FailedImage(Guid ImageId, string FileName, string Error);

/// <summary>
/// The job table's own protocol: claim due jobs, rescue claims whose lease expired, and hand back
/// every claim of this process at shutdown. What a claim does afterwards is the
/// <see cref="JobClaim"/>'s; what admins do to the queue is <see cref="ProcessingCommands"/>'; what
/// they see is <see cref="QueueMonitor"/>'s. Statements are short, hold no transaction across a
/// provider call, and compare times with the database's now(), so skewed clocks agree.
/// </summary>
public sealed class JobQueue(
    NpgsqlDataSource db, QueueOwner owner, CompletionWriter writer, RetrySchedule retry, IOptions<QuotaOptions> quotas, ILogger<JobClaim> claimLog)
{
    public const string LeaseExpiredError = "the worker stopped responding (its lease expired); the attempt was abandoned";

    /// <summary>How many expired claims one rescue handles; the next run takes the rest.</summary>
    public const int RescueBatch = 200;

    private readonly ClaimStatements _statements = new(db);
    private readonly LeaseKeeper _keeper = new(db, owner, claimLog);

    public QueueOwner Owner => owner;

    /// <summary>The claim statement (<see cref="ClaimAsync"/>), built once: its announcement is a method's text, not a constant.</summary>
    private static readonly string ClaimSql = $"""
        WITH due AS MATERIALIZED (SELECT id FROM vi_due_jobs(@count, @calls_per_day) AS id),
        claimed AS (
            UPDATE image_processing_jobs j
            SET status = '{Images.ProcessingStatus.Processing}', attempt = j.attempt + 1, locked_by = @owner,
                lease_until = now() + @lease, updated_at = now()
            FROM due WHERE j.id = due.id
            RETURNING j.id, j.image_id, j.attempt, j.run_at, j.trace_parent),
        images AS (
            {PhotoStatus.Claim}
            RETURNING claimed.id AS job_id, v.id, v.file_name, v.width, v.height, v.variants, v.ai_scan_metadata, v.vehicle_id, v.user_id,
                      claimed.attempt, claimed.run_at, claimed.trace_parent),
        announced AS MATERIALIZED ({StatusAnnouncement.Of("images", Images.ProcessingStatus.Processing)})
        SELECT v.job_id, v.id, v.attempt, now(), v.file_name, v.width, v.height, v.variants::text, v.ai_scan_metadata::text,
               extract(epoch FROM now() - v.run_at)::float8, v.trace_parent
        FROM images v CROSS JOIN announced
        """;

    /// <summary>
    /// Claims up to <paramref name="count"/> due jobs, new uploads before backfill and re-analysis
    /// (<see cref="JobPriority"/>), unless processing is paused or the photo's owner has spent the
    /// day's provider calls (Quotas:ProviderCallsPerDay), in one statement:
    /// the jobs move to processing with a lease, their photos to processing (the statement announces
    /// their events itself, <see cref="StatusAnnouncement"/>, ADR 019), and what a worker needs of each
    /// photo comes back with them.
    /// </summary>
    public async Task<IReadOnlyList<JobClaim>> ClaimAsync(int count, CancellationToken cancellationToken)
    {
        // vi_due_jobs (migration QueueFourthPass) picks and locks the due jobs: pending, run_at passed,
        // processing not paused, most urgent first (priority, run_at, id: the ix_image_processing_jobs_due
        // order), skipping locked ones, and, when Quotas:ProviderCallsPerDay is set (@calls_per_day > 0),
        // not those whose owner has already had that many provider calls answered today (UTC, counted by
        // ClaimStatements.SaveTierAsync): such a photo stays pending, spends no attempt and no call of the
        // operator's budget, and is claimed by itself once the day turns. A photo already claimed
        // finishes, so an owner can go over by the tiers of the photos in flight. It is a function
        // because it runs with bitmap scans and sorts off: on a job table without fresh statistics (a
        // new install, or a burst of uploads or a backfill before autovacuum's next analyze) the
        // planner thought few jobs pending and read and sorted every pending job on every claim,
        // instead of reading the index in order and stopping after @count (ADR 017).
        await using var cmd = db.CreateCommand(ClaimSql);
        cmd.Parameters.AddWithValue("count", count);
        cmd.Parameters.AddWithValue("owner", owner.Name);
        cmd.Parameters.AddWithValue("lease", owner.Lease);
        cmd.Parameters.AddWithValue("calls_per_day", Math.Max(quotas.Value.ProviderCallsPerDay, 0));
        var claims = new List<JobClaim>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = new ClaimKey(reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2), owner.Name, reader.GetFieldValue<DateTimeOffset>(3));
            var image = new ClaimedImage(reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetInt32(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8));
            claims.Add(new JobClaim(key, image, owner.Lease, _statements, writer, retry, _keeper, claimLog) { TraceParent = reader.IsDBNull(10) ? null : reader.GetString(10) });
            Telemetry.ClaimLatency.Record(Math.Max(0, reader.GetDouble(9)));
        }

        return claims;
    }

    /// <summary>
    /// Returns claims whose lease expired (their worker died or hung), in one set-based statement:
    /// to the queue after the retry schedule's delay, or to failed when their attempts are spent, each
    /// with its history row. The staleness test is the UPDATE's own, under SKIP LOCKED, so several
    /// rescuers (one per instance) never handle a job twice. The photos that failed for good come back.
    /// </summary>
    public async Task<IReadOnlyList<FailedImage>> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH expired AS MATERIALIZED (
                SELECT id, attempt >= @max AS final, updated_at AS started FROM image_processing_jobs
                WHERE status = '{Images.ProcessingStatus.Processing}' AND lease_until < now()
                ORDER BY lease_until
                FOR UPDATE SKIP LOCKED LIMIT {RescueBatch}),
            job AS (
                UPDATE image_processing_jobs j
                SET status = CASE WHEN e.final THEN '{Failed}' ELSE '{Pending}' END,
                    run_at = now() + CASE WHEN e.final THEN interval '0' ELSE make_interval(secs =>
                        (@delays)[least(greatest(j.attempt, 1), cardinality(@delays))] * (1 + (random() * 2 - 1) * @jitter)) END,
                    last_error = @error, updated_at = now(), locked_by = NULL, lease_until = NULL,
                    finished_at = CASE WHEN e.final THEN now() END
                FROM expired e WHERE j.id = e.id
                RETURNING j.id, j.image_id, j.attempt, e.final, e.started, j.status),
            image AS (
                {PhotoStatus.Rescue}
                RETURNING v.id, v.file_name),
            attempt AS (
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, error)
                SELECT job.id, job.image_id, job.attempt, job.started, now(), 0,
                       CASE WHEN job.final THEN '{AttemptOutcome.Failed}' ELSE '{AttemptOutcome.Rescued}' END, @error
                FROM job)
            SELECT image.id, image.file_name FROM image JOIN job ON job.image_id = image.id WHERE job.final
            """);
        cmd.Parameters.AddWithValue("max", retry.MaxAttempts);
        cmd.Parameters.AddWithValue("delays", retry.BaseDelaysSeconds);
        cmd.Parameters.AddWithValue("jitter", RetrySchedule.Jitter);
        cmd.Parameters.AddWithValue("error", LeaseExpiredError);
        var failed = new List<FailedImage>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            failed.Add(new FailedImage(reader.GetGuid(0), reader.GetString(1), LeaseExpiredError));
        return failed;
    }

    /// <summary>Shutdown: every claim of this process goes back at once, its attempt refunded.</summary>
    public async Task<int> HandBackAllAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH released AS (
                UPDATE image_processing_jobs j
                SET status = '{Pending}', attempt = greatest(j.attempt - 1, 0), run_at = now(), updated_at = now(),
                    locked_by = NULL, lease_until = NULL
                WHERE j.status = '{Images.ProcessingStatus.Processing}' AND j.locked_by = @owner
                RETURNING j.image_id)
            {PhotoStatus.Release}
            """);
        cmd.Parameters.AddWithValue("owner", owner.Name);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
