using Npgsql;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;

namespace VehicleImages.Core.Processing;

/// <summary>
/// What people do to the queue: retry a failed photo (owners and admins), retry every failed photo,
/// queue photos that were never processed, pause and resume. Each is one statement; a new job is
/// announced by the job table's own trigger.
/// </summary>
public sealed class ProcessingCommands(NpgsqlDataSource db)
{
    /// <summary>How many photos one backfill statement queues; it repeats until fewer are left.</summary>
    public const int BackfillBatch = 10000;

    /// <summary>Queues a failed image again with fresh attempts; false unless it is failed.</summary>
    public async Task<bool> RetryAsync(Guid imageId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH image AS (
                UPDATE vehicle_images SET processing_status = '{Pending}', processing_error = NULL
                WHERE id = @image AND processing_status = '{Failed}'
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM image
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        cmd.Parameters.AddWithValue("image", imageId);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> RetryAllFailedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH images AS (
                UPDATE vehicle_images SET processing_status = '{Pending}', processing_error = NULL
                WHERE processing_status = '{Failed}'
                RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
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
        await using var cmd = db.CreateCommand($"""
            WITH missing AS (
                SELECT v.id FROM vehicle_images v
                WHERE v.processing_status <> '{Failed}'
                  AND (v.processing_status <> '{Complete}' OR v.ai_scan_metadata IS NULL
                       OR v.ai_scan_metadata->'{Tiers.ClassificationKey}' IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM image_processing_jobs j
                                  WHERE j.image_id = v.id AND j.status IN ('{Pending}', '{Images.ProcessingStatus.Processing}'))
                LIMIT {BackfillBatch}),
            images AS (
                UPDATE vehicle_images v SET processing_status = '{Pending}' FROM missing WHERE v.id = missing.id
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{Images.ProcessingStatus.Processing}') DO NOTHING
            """);
        return await cmd.RepeatWhileFullAsync(BackfillBatch, cancellationToken);
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
