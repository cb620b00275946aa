using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Monitoring;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Processing.Admin;

/// <summary>Which analysed photos to analyse again: one vehicle's, those from an older prompt version, those of one model; null = any.</summary>
public sealed record ReanalysisFilter(Guid? VehicleId = null, string? PromptVersionBelow = null, string? Model = null);

/// <summary>What a re-analysis would queue, and what it will likely cost judging by the usage so far.</summary>
public sealed record ReanalysisEstimate(int Photos, long Calls, long Tokens);

/// <summary>
/// What people do to the queue: retry a failed photo (owners and admins), retry every failed photo,
/// queue photos that were never processed, pause and resume. Each is one statement; a new job is
/// announced by the job table's own trigger.
/// </summary>
public sealed class ProcessingCommands(NpgsqlDataSource db)
{
    /// <summary>How many photos one backfill statement queues; it repeats until fewer are left.</summary>
    public const int BackfillBatch = 10000;

    /// <summary>
    /// Queues a failed image again with fresh attempts, and a cancelled one too when an administrator asks
    /// (<paramref name="byAdmin"/>); false when it is neither.
    /// </summary>
    public async Task<bool> RetryAsync(Guid imageId, bool byAdmin, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH image AS (
                {PhotoStatus.Retry}
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM image
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        cmd.Parameters.AddWithValue("image", imageId);
        cmd.Parameters.AddWithValue("admin", byAdmin);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> RetryAllFailedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH images AS (
                {PhotoStatus.RetryAllFailed}
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Queues every image that has no complete analysis and no live job: photos from before this
    /// system, rows inserted by hand, anything a crash or a bug let slip. Failed images are left to
    /// Retry (they already spent their attempts; the sweep must not loop on them), cancelled ones to an admin.
    /// </summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH missing AS (
                SELECT v.id FROM vehicle_images v
                WHERE v.processing_status NOT IN ('{Failed}', '{Cancelled}')
                  AND (v.processing_status <> '{Complete}' OR v.ai_scan_metadata IS NULL
                       OR v.ai_scan_metadata->'{Tiers.ClassificationKey}' IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM image_processing_jobs j
                                  WHERE j.image_id = v.id AND j.status IN ('{Pending}', '{Images.ProcessingStatus.Processing}'))
                LIMIT {BackfillBatch}),
            images AS (
                {PhotoStatus.Enqueue}
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id, priority) SELECT id, {JobPriority.Backfill} FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        return await cmd.RepeatWhileFullAsync(BackfillBatch, cancellationToken);
    }
    private const string ReanalysisCandidates = $"""
        SELECT v.id FROM vehicle_images v
        WHERE v.processing_status IN ('{Complete}', '{Failed}')
          AND (@vehicle IS NULL OR v.vehicle_id = @vehicle)
          AND (@below IS NULL OR coalesce(v.ai_scan_metadata->>'prompt_version', '') < @below)
          AND (@model IS NULL OR v.ai_scan_metadata->>'model' = @model)
          AND NOT EXISTS (SELECT 1 FROM image_processing_jobs j
                          WHERE j.image_id = v.id AND j.status IN ('{Pending}', '{Images.ProcessingStatus.Processing}'))
        """;

    /// <summary>
    /// Queues a fresh analysis of the chosen photos, behind every new upload (a lower priority): every
    /// tier is asked again. The analysis so far is kept under previous_analysis and its usage totals
    /// carry on; a person's categorisation (its own row) is not touched. The number queued.
    /// </summary>
    public async Task<int> ReanalyzeAsync(ReanalysisFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH chosen AS ({ReanalysisCandidates} LIMIT {BackfillBatch}),
            images AS (
                {PhotoStatus.EnqueueForReanalysis}
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id, priority) SELECT id, {JobPriority.Reanalysis} FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        AddFilter(cmd, filter);
        return await cmd.RepeatWhileFullAsync(BackfillBatch, cancellationToken);
    }

    /// <summary>How many photos <see cref="ReanalyzeAsync"/> would queue, and the calls and tokens an average analysis has cost so far.</summary>
    public async Task<ReanalysisEstimate> EstimateReanalysisAsync(ReanalysisFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH per_photo AS (
                SELECT sum((u.value->>'calls')::bigint) AS calls,
                       sum(coalesce((u.value->>'input_tokens')::bigint, 0) + coalesce((u.value->>'output_tokens')::bigint, 0)) AS tokens
                FROM vehicle_images v, jsonb_each(v.ai_scan_metadata->'{Tiers.UsageKey}') u
                WHERE jsonb_typeof(v.ai_scan_metadata->'{Tiers.UsageKey}') = 'object'
                GROUP BY v.id)
            SELECT (SELECT count(*) FROM ({ReanalysisCandidates}) c),
                   coalesce((SELECT avg(calls) FROM per_photo), 0)::float8,
                   coalesce((SELECT avg(tokens) FROM per_photo), 0)::float8
            """);
        AddFilter(cmd, filter);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var photos = (int)reader.GetInt64(0);
        return new ReanalysisEstimate(photos, (long)Math.Round(photos * reader.GetDouble(1)), (long)Math.Round(photos * reader.GetDouble(2)));
    }

    private static void AddFilter(NpgsqlCommand cmd, ReanalysisFilter filter)
    {
        cmd.Parameters.Add(new NpgsqlParameter("vehicle", NpgsqlDbType.Uuid) { Value = (object?)filter.VehicleId ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("below", NpgsqlDbType.Text) { Value = (object?)filter.PromptVersionBelow ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("model", NpgsqlDbType.Text) { Value = (object?)filter.Model ?? DBNull.Value });
    }

    public const string CancelledError = "cancelled by an administrator";

    /// <summary>
    /// Cancels the selected pending and failed jobs: they never run, and their photos show cancelled with
    /// the reason <see cref="CancelledError"/> (never the admin's name; the backfill sweep leaves them alone)
    /// until an admin retries them; the owner's Retry does not. The number of jobs cancelled.
    /// </summary>
    public async Task<int> CancelJobsAsync(JobSelection selection, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH chosen AS (
                SELECT j.id FROM image_processing_jobs j JOIN vehicle_images v ON v.id = j.image_id
                WHERE {Selected} AND j.status IN ('{Pending}', '{Failed}')
                FOR UPDATE OF j SKIP LOCKED),
            job AS (
                UPDATE image_processing_jobs j
                SET status = '{Cancelled}', last_error = @reason, finished_at = now(), updated_at = now()
                FROM chosen WHERE j.id = chosen.id
                RETURNING j.image_id),
            images AS (
                {PhotoStatus.Cancel})
            SELECT count(*) FROM job
            """);
        AddSelection(cmd, selection);
        cmd.Parameters.AddWithValue("reason", CancelledError);
        return (int)(long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Queues the photos of the selected failed and cancelled jobs again with fresh attempts; how many were queued.</summary>
    public async Task<int> RetryJobsAsync(JobSelection selection, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH chosen AS (
                SELECT DISTINCT j.image_id FROM image_processing_jobs j JOIN vehicle_images v ON v.id = j.image_id
                WHERE {Selected} AND j.status IN ('{Failed}', '{Cancelled}')),
            images AS (
                {PhotoStatus.RetryChosen}
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        AddSelection(cmd, selection);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The listed jobs, or every job the filter matches (the explorer's own WHERE clause).</summary>
    private const string Selected = $"(CASE WHEN @ids IS NOT NULL THEN j.id = ANY(@ids) ELSE {JobExplorer.Where} END)";

    private static void AddSelection(NpgsqlCommand cmd, JobSelection selection)
    {
        if ((selection.JobIds is null) == (selection.Filter is null))
            throw new ArgumentException("Select jobs either by jobIds or by filter.", nameof(selection));
        cmd.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint)
        {
            Value = selection.JobIds is { } ids ? ids.ToArray() : DBNull.Value,
        });
        JobExplorer.AddFilter(cmd, selection.Filter);
    }

    public async Task SetPausedAsync(bool paused, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE processing_control SET paused = @paused, updated_at = now() WHERE id = 1;
            SELECT pg_notify('{ProcessingChannels.Jobs}', 'resume');
            """);
        cmd.Parameters.AddWithValue("paused", paused);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}

public static class BatchedStatements
{
    /// <summary>Runs a statement that handles at most <paramref name="batch"/> rows until a run handles fewer; the total.</summary>
    public static async Task<int> RepeatWhileFullAsync(this NpgsqlCommand cmd, int batch, CancellationToken cancellationToken)
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
}
