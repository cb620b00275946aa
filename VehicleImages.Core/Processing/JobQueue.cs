using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Analysis;

namespace VehicleImages.Core.Processing;

/// <summary>What a worker needs of the image, read in the claiming statement itself (no second round trip).</summary>
public sealed record ClaimedImage(string FileName, int? Width, int? Height, string? Variants, string? Metadata);

public sealed record JobClaim(long JobId, Guid ImageId, int Attempt, DateTimeOffset StartedAt, ClaimedImage? Image = null);

/// <summary>A finished analysis to be written for a claim held by <paramref name="Owner"/>.</summary>
public sealed record Completion(JobClaim Claim, string Owner, AnalysisResult Result);

/// <summary>A failed image, for alerts.</summary>
public sealed record FailedImage(Guid ImageId, string FileName, string Error);

public sealed record QueueCounts(int Pending, int Processing, int Complete, int Failed);

/// <summary>
/// The job table's statements. Every statement is short and holds no transaction across a provider
/// call; every write to a claimed job is fenced by id, status, owner and attempt, so a claim that was
/// lost (lease expired and rescued, or taken by another worker) can change nothing. All times come
/// from the database's now(), so instances with skewed clocks agree.
/// </summary>
public sealed class JobQueue(NpgsqlDataSource db)
{
    private const string Fence = "j.id = @job AND j.status = 'processing' AND j.locked_by = @owner AND j.attempt = @attempt";

    /// <summary>Claims up to <paramref name="count"/> due jobs, unless processing is paused.</summary>
    public async Task<IReadOnlyList<JobClaim>> ClaimAsync(string owner, int count, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            WITH due AS MATERIALIZED (
                SELECT id FROM image_processing_jobs
                WHERE status = 'pending' AND run_at <= now()
                  AND NOT (SELECT paused FROM processing_control WHERE id = 1)
                ORDER BY run_at, id
                FOR UPDATE SKIP LOCKED
                LIMIT @count),
            claimed AS (
                UPDATE image_processing_jobs j
                SET status = 'processing', attempt = j.attempt + 1, locked_by = @owner,
                    lease_until = now() + @lease, updated_at = now()
                FROM due WHERE j.id = due.id
                RETURNING j.id, j.image_id, j.attempt),
            images AS (
                UPDATE vehicle_images v SET processing_status = 'processing', processing_error = NULL
                FROM claimed WHERE v.id = claimed.image_id)
            SELECT c.id, c.image_id, c.attempt, now(), v.file_name, v.width, v.height, v.variants::text, v.ai_scan_metadata::text
            FROM claimed c JOIN vehicle_images v ON v.id = c.image_id
            """);
        cmd.Parameters.AddWithValue("count", count);
        cmd.Parameters.AddWithValue("owner", owner);
        cmd.Parameters.AddWithValue("lease", lease);
        var claims = new List<JobClaim>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            claims.Add(new JobClaim(reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3),
                new ClaimedImage(reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetInt32(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8))));
        return claims;
    }

    /// <summary>Extends the lease; false when the claim is no longer ours.</summary>
    public async Task<bool> HeartbeatAsync(JobClaim claim, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"UPDATE image_processing_jobs j SET lease_until = now() + @lease WHERE {Fence}");
        AddFence(cmd, claim, owner);
        cmd.Parameters.AddWithValue("lease", lease);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Merges one tier's result into ai_scan_metadata while the claim is ours; false when it is not.</summary>
    public async Task<bool> SaveTierAsync(JobClaim claim, string owner, string key, JsonNode value, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE vehicle_images v
            SET ai_scan_metadata = coalesce(v.ai_scan_metadata, jsonb_build_object()) || jsonb_build_object(@key, @value::jsonb)
            FROM image_processing_jobs j
            WHERE v.id = j.image_id AND {Fence}
            """);
        AddFence(cmd, claim, owner);
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("value", NpgsqlDbType.Jsonb, value.ToJsonString());
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Completes the job and stores the results in one statement (so one round trip, atomically);
    /// false, and nothing written, when the claim was lost: every part hangs off the fenced job update.
    /// Results are upserts keyed by image, so a second completion cannot duplicate them.
    /// </summary>
    public async Task<bool> CompleteAsync(JobClaim claim, string owner, AnalysisResult result, CancellationToken cancellationToken) =>
        (await CompleteAsync([new Completion(claim, owner, result)], cancellationToken))[0];

    /// <summary>
    /// Several completions in one set-based statement per owner: one round trip, one transaction,
    /// one commit, and the per-statement work (locks on every table and index touched, constraint
    /// and trigger set-up) paid once for all of them. Each completion is fenced on its own, so a
    /// lost claim is dropped (false) while its neighbours are written. An error in any part rolls
    /// back all of them; <see cref="CompletionWriter"/> then writes them one by one, so one bad
    /// completion cannot sink its neighbours.
    /// </summary>
    public async Task<IReadOnlyList<bool>> CompleteAsync(IReadOnlyList<Completion> completions, CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        foreach (var group in completions.GroupBy(c => c.Owner))
            batch.BatchCommands.Add(CompletionCommand(group.Key, group.ToList()));
        var completed = new HashSet<long>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                while (await reader.ReadAsync(cancellationToken))
                    completed.Add(reader.GetInt64(0));
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        return completions.Select(c => completed.Contains(c.Claim.JobId)).ToList();
    }

    private static NpgsqlBatchCommand CompletionCommand(string owner, List<Completion> completions)
    {
        var cmd = new NpgsqlBatchCommand("""
            WITH input AS (
                SELECT * FROM unnest(@jobs, @attempts, @metadata, @categories, @angles, @confidences, @started, @tiers)
                    AS i(job, attempt, metadata, category, angle, confidence, started, tier)),
            job AS (
                UPDATE image_processing_jobs j
                SET status = 'complete', finished_at = now(), updated_at = now(), locked_by = NULL, lease_until = NULL, last_error = NULL
                FROM input i
                WHERE j.id = i.job AND j.status = 'processing' AND j.locked_by = @owner AND j.attempt = i.attempt
                RETURNING j.id, j.image_id, j.attempt, i.metadata, i.category, i.angle, i.confidence, i.started, i.tier),
            image AS (
                UPDATE vehicle_images v
                SET processing_status = 'complete', processing_error = NULL,
                    ai_scan_metadata = coalesce(v.ai_scan_metadata, jsonb_build_object()) || job.metadata
                FROM job WHERE v.id = job.image_id),
            angle AS (
                INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source)
                SELECT job.image_id, job.category, job.angle, job.confidence, 'ai' FROM job WHERE job.category IS NOT NULL
                ON CONFLICT (image_id, source) DO UPDATE
                SET category = EXCLUDED.category, angle = EXCLUDED.angle, confidence = EXCLUDED.confidence, updated_at = now()),
            cleared AS (
                DELETE FROM image_spatial_metadata s USING job WHERE s.image_id = job.image_id),
            located AS (
                INSERT INTO image_spatial_metadata (image_id, component_name, area, condition, confidence, bbox_x, bbox_y, bbox_width, bbox_height, tier)
                SELECT job.image_id, c.name, c.area, c.condition, c.confidence, c.x, c.y, c.w, c.h, c.tier
                FROM unnest(@part_jobs, @names, @areas, @conditions, @part_confidences, @xs, @ys, @ws, @hs, @part_tiers)
                    AS c(job, name, area, condition, confidence, x, y, w, h, tier)
                JOIN job ON job.id = c.job),
            attempt AS (
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome)
                SELECT job.id, job.image_id, job.attempt, job.started, now(), job.tier, 'complete' FROM job)
            SELECT id FROM job
            """);
        var p = cmd.Parameters;
        p.AddWithValue("owner", owner);
        p.AddWithValue("jobs", completions.Select(c => c.Claim.JobId).ToArray());
        p.AddWithValue("attempts", completions.Select(c => c.Claim.Attempt).ToArray());
        p.AddWithValue("metadata", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, completions.Select(c => c.Result.Metadata.ToJsonString()).ToArray());
        p.AddWithValue("categories", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Categorization?.Category).ToArray());
        p.AddWithValue("angles", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Categorization?.Angle).ToArray());
        p.AddWithValue("confidences", NpgsqlDbType.Array | NpgsqlDbType.Double,
            completions.Select(c => c.Result.Categorization is { } k ? Math.Clamp(k.Confidence, 0, 1) : (double?)null).ToArray());
        p.AddWithValue("started", completions.Select(c => c.Claim.StartedAt).ToArray());
        p.AddWithValue("tiers", completions.Select(c => c.Result.TierReached).ToArray());
        var parts = completions.SelectMany(c => c.Result.Components.Select(x => (c.Claim.JobId, Part: x))).ToList();
        p.AddWithValue("part_jobs", parts.Select(x => x.JobId).ToArray());
        p.AddWithValue("names", NpgsqlDbType.Array | NpgsqlDbType.Text, parts.Select(x => x.Part.Name).ToArray());
        p.AddWithValue("areas", NpgsqlDbType.Array | NpgsqlDbType.Text, parts.Select(x => x.Part.Area).ToArray());
        p.AddWithValue("conditions", NpgsqlDbType.Array | NpgsqlDbType.Text, parts.Select(x => x.Part.Condition).ToArray());
        p.AddWithValue("part_confidences", NpgsqlDbType.Array | NpgsqlDbType.Double, parts.Select(x => x.Part.Confidence).ToArray());
        p.AddWithValue("xs", NpgsqlDbType.Array | NpgsqlDbType.Double, parts.Select(x => x.Part.X).ToArray());
        p.AddWithValue("ys", NpgsqlDbType.Array | NpgsqlDbType.Double, parts.Select(x => x.Part.Y).ToArray());
        p.AddWithValue("ws", NpgsqlDbType.Array | NpgsqlDbType.Double, parts.Select(x => x.Part.Width).ToArray());
        p.AddWithValue("hs", NpgsqlDbType.Array | NpgsqlDbType.Double, parts.Select(x => x.Part.Height).ToArray());
        p.AddWithValue("part_tiers", parts.Select(x => x.Part.Tier).ToArray());
        return cmd;
    }

    /// <summary>
    /// Ends a failed attempt: back to pending after <paramref name="retryDelay"/>, or failed when the
    /// error is permanent or the attempts are spent. Null when the claim was lost; otherwise whether
    /// the image is now failed for good.
    /// </summary>
    public async Task<bool?> FailAsync(JobClaim claim, string owner, string error, bool permanent, int maxAttempts,
        TimeSpan retryDelay, int tierReached, CancellationToken cancellationToken)
    {
        var final = permanent || claim.Attempt >= maxAttempts;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var fail = new NpgsqlCommand($"""
            UPDATE image_processing_jobs j
            SET status = @status, run_at = now() + @delay, last_error = @error, updated_at = now(),
                locked_by = NULL, lease_until = NULL, finished_at = CASE WHEN @final THEN now() END
            WHERE {Fence}
            """, connection, tx))
        {
            AddFence(fail, claim, owner);
            fail.Parameters.AddWithValue("status", final ? JobStatus.Failed : JobStatus.Pending);
            fail.Parameters.AddWithValue("delay", final ? TimeSpan.Zero : retryDelay);
            fail.Parameters.AddWithValue("error", error);
            fail.Parameters.AddWithValue("final", final);
            if (await fail.ExecuteNonQueryAsync(cancellationToken) != 1)
                return null;
        }

        await using (var image = new NpgsqlCommand(
            "UPDATE vehicle_images SET processing_status = @status, processing_error = @error WHERE id = @image", connection, tx))
        {
            image.Parameters.AddWithValue("image", claim.ImageId);
            image.Parameters.AddWithValue("status", final ? JobStatus.Failed : JobStatus.Pending);
            image.Parameters.AddWithValue("error", error);
            await image.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertAttemptAsync(connection, tx, claim, tierReached, final ? "failed" : "retry", error, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return final;
    }

    /// <summary>A 429: the job goes back without spending its attempt and waits as long as the provider asked.</summary>
    public async Task<bool> ReleaseAsync(JobClaim claim, string owner, TimeSpan after, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH released AS (
                UPDATE image_processing_jobs j
                SET status = 'pending', attempt = j.attempt - 1, run_at = now() + @after, updated_at = now(),
                    locked_by = NULL, lease_until = NULL
                WHERE {Fence}
                RETURNING j.image_id)
            UPDATE vehicle_images v SET processing_status = 'pending' FROM released WHERE v.id = released.image_id
            """);
        AddFence(cmd, claim, owner);
        cmd.Parameters.AddWithValue("after", after);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Shutdown: every claim of this process goes back at once, its attempt refunded.</summary>
    public async Task<int> ReleaseAllAsync(string owner, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            WITH released AS (
                UPDATE image_processing_jobs j
                SET status = 'pending', attempt = greatest(j.attempt - 1, 0), run_at = now(), updated_at = now(),
                    locked_by = NULL, lease_until = NULL
                WHERE j.status = 'processing' AND j.locked_by = @owner
                RETURNING j.image_id)
            UPDATE vehicle_images v SET processing_status = 'pending' FROM released WHERE v.id = released.image_id
            """);
        cmd.Parameters.AddWithValue("owner", owner);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Returns claims whose lease expired (their worker died or hung): to the queue with backoff, or to
    /// failed when their attempts are spent. The staleness test is repeated inside the UPDATE, so
    /// several rescuers (one per instance) never double-handle a job.
    /// </summary>
    public async Task<IReadOnlyList<FailedImage>> RescueExpiredAsync(int maxAttempts, Func<int, TimeSpan> delay, CancellationToken cancellationToken)
    {
        const string error = "the worker stopped responding (its lease expired); the attempt was abandoned";
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var rescued = new List<(long Job, Guid Image, int Attempt, bool Final, DateTimeOffset Started)>();
        await using (var find = new NpgsqlCommand("""
            SELECT id, image_id, attempt, updated_at FROM image_processing_jobs
            WHERE status = 'processing' AND lease_until < now()
            ORDER BY lease_until
            FOR UPDATE SKIP LOCKED LIMIT 200
            """, connection, tx))
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                rescued.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetInt32(2) >= maxAttempts, reader.GetFieldValue<DateTimeOffset>(3)));

        var failed = new List<FailedImage>();
        foreach (var r in rescued)
        {
            await using var update = new NpgsqlCommand("""
                WITH job AS (
                    UPDATE image_processing_jobs
                    SET status = @status, run_at = now() + @delay, last_error = @error, updated_at = now(),
                        locked_by = NULL, lease_until = NULL, finished_at = CASE WHEN @final THEN now() END
                    WHERE id = @job AND status = 'processing' AND lease_until < now()
                    RETURNING image_id)
                UPDATE vehicle_images v SET processing_status = @status, processing_error = @error
                FROM job WHERE v.id = job.image_id
                RETURNING v.file_name
                """, connection, tx);
            update.Parameters.AddWithValue("job", r.Job);
            update.Parameters.AddWithValue("status", r.Final ? JobStatus.Failed : JobStatus.Pending);
            update.Parameters.AddWithValue("delay", r.Final ? TimeSpan.Zero : delay(r.Attempt));
            update.Parameters.AddWithValue("error", error);
            update.Parameters.AddWithValue("final", r.Final);
            var fileName = await update.ExecuteScalarAsync(cancellationToken) as string;
            if (fileName is null)
                continue;
            await InsertAttemptAsync(connection, tx, new JobClaim(r.Job, r.Image, r.Attempt, r.Started), 0, r.Final ? "failed" : "rescued", error, cancellationToken);
            if (r.Final)
                failed.Add(new FailedImage(r.Image, fileName, error));
        }

        await tx.CommitAsync(cancellationToken);
        return failed;
    }

    /// <summary>Queues a failed image again with fresh attempts; false unless it is failed.</summary>
    public async Task<bool> RetryAsync(Guid imageId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            WITH image AS (
                UPDATE vehicle_images SET processing_status = 'pending', processing_error = NULL
                WHERE id = @image AND processing_status = 'failed'
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM image
            ON CONFLICT (image_id) WHERE status IN ('pending', 'processing') DO NOTHING
            """);
        cmd.Parameters.AddWithValue("image", imageId);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> RetryAllFailedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            WITH images AS (
                UPDATE vehicle_images SET processing_status = 'pending', processing_error = NULL
                WHERE processing_status = 'failed'
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('pending', 'processing') DO NOTHING
            """);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Queues every image that has no complete analysis and no live job: photos from before this
    /// system, rows inserted by hand, anything a crash or a bug let slip. Failed images are left to
    /// Retry (they already spent their attempts; the sweep must not loop on them).
    /// </summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            WITH missing AS (
                SELECT v.id FROM vehicle_images v
                WHERE v.processing_status <> 'failed'
                  AND (v.processing_status <> 'complete' OR v.ai_scan_metadata IS NULL
                       OR v.ai_scan_metadata->'tier_1_analysis' IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM image_processing_jobs j
                                  WHERE j.image_id = v.id AND j.status IN ('pending', 'processing'))
                LIMIT 10000),
            images AS (
                UPDATE vehicle_images v SET processing_status = 'pending' FROM missing WHERE v.id = missing.id
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('pending', 'processing') DO NOTHING
            """);
        return await RepeatWhileFullAsync(cmd, 10000, cancellationToken);
    }

    /// <summary>Completed jobs older than <paramref name="age"/> go, a batch at a time; their attempt history stays.</summary>
    public async Task<int> PruneAsync(TimeSpan age, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            DELETE FROM image_processing_jobs WHERE id IN (
                SELECT id FROM image_processing_jobs
                WHERE status = 'complete' AND finished_at < now() - @age
                LIMIT 1000)
            """);
        cmd.Parameters.AddWithValue("age", age);
        return await RepeatWhileFullAsync(cmd, 1000, cancellationToken);
    }

    public async Task<bool> IsPausedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("SELECT paused FROM processing_control WHERE id = 1");
        return (bool)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task SetPausedAsync(bool paused, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE processing_control SET paused = @paused, updated_at = now() WHERE id = 1;
            SELECT pg_notify('image_jobs', 'resume');
            """);
        cmd.Parameters.AddWithValue("paused", paused);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Counts per status of the images (what people see), not of the job rows.</summary>
    public async Task<QueueCounts> CountsAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            SELECT count(*) FILTER (WHERE processing_status = 'pending'),
                   count(*) FILTER (WHERE processing_status = 'processing'),
                   count(*) FILTER (WHERE processing_status = 'complete'),
                   count(*) FILTER (WHERE processing_status = 'failed')
            FROM vehicle_images
            """);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new QueueCounts((int)reader.GetInt64(0), (int)reader.GetInt64(1), (int)reader.GetInt64(2), (int)reader.GetInt64(3));
    }

    private static void AddFence(NpgsqlCommand cmd, JobClaim claim, string owner)
    {
        cmd.Parameters.AddWithValue("job", claim.JobId);
        cmd.Parameters.AddWithValue("owner", owner);
        cmd.Parameters.AddWithValue("attempt", claim.Attempt);
    }

    /// <summary>Runs a statement that handles at most <paramref name="batch"/> rows until a run handles fewer; the total.</summary>
    private static async Task<int> RepeatWhileFullAsync(NpgsqlCommand cmd, int batch, CancellationToken cancellationToken)
    {
        var total = 0;
        int handled;
        do
        {
            handled = await cmd.ExecuteNonQueryAsync(cancellationToken);
            total += handled;
        }
        while (handled == batch);
        return total;
    }

    private static async Task InsertAttemptAsync(NpgsqlConnection connection, NpgsqlTransaction tx, JobClaim claim,
        int tierReached, string outcome, string? error, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, error)
            VALUES (@job, @image, @attempt, @started, now(), @tier, @outcome, @error)
            """, connection, tx);
        cmd.Parameters.AddWithValue("job", claim.JobId);
        cmd.Parameters.AddWithValue("image", claim.ImageId);
        cmd.Parameters.AddWithValue("attempt", claim.Attempt);
        cmd.Parameters.AddWithValue("started", claim.StartedAt);
        cmd.Parameters.AddWithValue("tier", tierReached);
        cmd.Parameters.AddWithValue("outcome", outcome);
        cmd.Parameters.AddWithValue("error", (object?)error ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
