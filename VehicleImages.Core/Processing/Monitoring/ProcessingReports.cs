using Npgsql;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Monitoring;

public sealed record TierUsage(string Tier, long Calls, long InputTokens, long OutputTokens);

public sealed record ProviderUsage(string Provider, long Calls, long InputTokens, long OutputTokens);

/// <summary>Attempts that ended in one time bucket.</summary>
public sealed record ThroughputBucket(DateTimeOffset Start, long Complete, long Failed);

/// <summary>How long completed attempts took, per provider, over a window.</summary>
public sealed record ProviderLatency(string Provider, long Attempts, double P50Ms, double P95Ms, double P99Ms);

public sealed record MonthReport(string Month, int Processed, int Partial, int Unprocessed, int Failed, int Cancelled = 0);

public sealed record AttemptView(int Attempt, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, int TierReached, string Outcome, string? Error);

public sealed record ProcessingView(string Status, int Attempts, int MaxAttempts, DateTimeOffset? NextAttemptAt, string? LastError, IReadOnlyList<AttemptView> History);

public sealed record FailedImageView(Guid ImageId, Guid VehicleId, string VehicleName, string OwnerEmail, string FileName, string? Error, int Attempts);

/// <summary>Read-only views of the queue for people: an image's processing history, the failed list, usage and the monthly report.</summary>
public sealed class ProcessingReports(NpgsqlDataSource db, RetrySchedule retry)
{
    /// <summary>The contract's status query, grouped by month of taken_at.</summary>
    public async Task<IReadOnlyList<MonthReport>> ByMonthAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT to_char(date_trunc('month', taken_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month,
                   count(*) FILTER (WHERE ai_scan_metadata->'{Tiers.ClassificationKey}' IS NOT NULL AND processing_status NOT IN ('{Failed}', '{Cancelled}')),
                   count(*) FILTER (WHERE ai_scan_metadata IS NOT NULL AND ai_scan_metadata->'{Tiers.ClassificationKey}' IS NULL AND processing_status NOT IN ('{Failed}', '{Cancelled}')),
                   count(*) FILTER (WHERE ai_scan_metadata IS NULL AND processing_status NOT IN ('{Failed}', '{Cancelled}')),
                   count(*) FILTER (WHERE processing_status = '{Failed}'),
                   count(*) FILTER (WHERE processing_status = '{Cancelled}')
            FROM vehicle_images WHERE taken_at IS NOT NULL
            GROUP BY 1 ORDER BY 1
            """);
        var rows = new List<MonthReport>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new MonthReport(reader.GetString(0), (int)reader.GetInt64(1), (int)reader.GetInt64(2), (int)reader.GetInt64(3), (int)reader.GetInt64(4), (int)reader.GetInt64(5)));
        return rows;
    }

    /// <summary>Photos analyzed in the last hour (completed attempts), across every instance.</summary>
    public async Task<long> CompletedLastHourAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(
            $"SELECT count(*) FROM image_processing_attempts WHERE outcome = '{AttemptOutcome.Complete}' AND finished_at > now() - interval '1 hour'");
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Photos that took their stack's best's category and angle with no provider call (Analysis:AnalyzeStackedPhotos off):
    /// the calls the setting saved, one tier 1 call each at least.
    /// </summary>
    public async Task<long> InheritedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"SELECT count(*) FROM vehicle_image_angles WHERE source = '{Images.AngleSource.Inherited}'");
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Provider calls and tokens per tier, summed over every photo's recorded usage.</summary>
    public async Task<IReadOnlyList<TierUsage>> UsageAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            SELECT u.key, sum((u.value->>'calls')::bigint), sum((u.value->>'input_tokens')::bigint), sum((u.value->>'output_tokens')::bigint)
            FROM vehicle_images v, jsonb_each(v.ai_scan_metadata->'usage') u
            WHERE jsonb_typeof(v.ai_scan_metadata->'usage') = 'object'
            GROUP BY u.key ORDER BY u.key
            """);
        var rows = new List<TierUsage>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new TierUsage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        return rows;
    }

    /// <summary>
    /// Completed and failed-for-good attempts per bucket over the last <paramref name="window"/>, every
    /// bucket present (zeros included) so a chart shows an outage or a slowdown as a gap at a glance.
    /// </summary>
    public async Task<IReadOnlyList<ThroughputBucket>> ThroughputAsync(TimeSpan window, TimeSpan bucket, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH buckets AS (
                SELECT generate_series(date_bin(@bucket, now() - @window, 'epoch'), now(), @bucket) AS start)
            SELECT b.start,
                   count(a.id) FILTER (WHERE a.outcome = '{AttemptOutcome.Complete}'),
                   count(a.id) FILTER (WHERE a.outcome = '{AttemptOutcome.Failed}')
            FROM buckets b
            LEFT JOIN image_processing_attempts a ON a.finished_at >= b.start AND a.finished_at < b.start + @bucket
            GROUP BY b.start ORDER BY b.start
            """);
        cmd.Parameters.AddWithValue("window", window);
        cmd.Parameters.AddWithValue("bucket", bucket);
        var rows = new List<ThroughputBucket>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new ThroughputBucket(reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2)));
        return rows;
    }

    /// <summary>Percentiles of completed attempts' duration per provider over the last <paramref name="window"/>.</summary>
    public async Task<IReadOnlyList<ProviderLatency>> ProviderLatencyAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT provider, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)
            FROM image_processing_attempts
            WHERE outcome = '{AttemptOutcome.Complete}' AND provider IS NOT NULL AND finished_at > now() - @window
            GROUP BY provider ORDER BY provider
            """);
        cmd.Parameters.AddWithValue("window", window);
        var rows = new List<ProviderLatency>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new ProviderLatency(reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4)));
        return rows;
    }

    /// <summary>Provider calls and tokens per provider of the chain, summed over every photo's recorded usage.</summary>
    public async Task<IReadOnlyList<ProviderUsage>> UsageByProviderAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT p.key, sum((p.value->>'calls')::bigint), sum((p.value->>'input_tokens')::bigint), sum((p.value->>'output_tokens')::bigint)
            FROM vehicle_images v, jsonb_each(v.ai_scan_metadata->'{Tiers.UsageKey}') u, jsonb_each(u.value->'by_provider') p
            WHERE jsonb_typeof(v.ai_scan_metadata->'{Tiers.UsageKey}') = 'object' AND jsonb_typeof(u.value->'by_provider') = 'object'
            GROUP BY p.key ORDER BY p.key
            """);
        var rows = new List<ProviderUsage>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new ProviderUsage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        return rows;
    }

    public async Task<ProcessingView> ForImageAsync(Guid imageId, string imageStatus, string? imageError, CancellationToken cancellationToken)
    {
        var history = new List<AttemptView>();
        await using (var cmd = db.CreateCommand("""
            SELECT attempt, started_at, finished_at, tier_reached, outcome, error FROM image_processing_attempts
            WHERE image_id = @id ORDER BY id
            """))
        {
            cmd.Parameters.AddWithValue("id", imageId);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                history.Add(new AttemptView(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                    reader.GetInt32(3), reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        // A complete photo's job left the job table with its completion (ADR 017): its attempts are the
        // completing attempt's, the last of the history, and nothing is due.
        if (imageStatus == Complete)
            return new ProcessingView(imageStatus, history.Count == 0 ? 0 : history[^1].Attempt, retry.MaxAttempts, null, imageError, history);

        int attempts = 0;
        DateTimeOffset? next = null;
        await using (var job = db.CreateCommand($"""
            SELECT attempt, CASE WHEN status = '{Pending}' THEN run_at END FROM image_processing_jobs
            WHERE image_id = @id ORDER BY id DESC LIMIT 1
            """))
        {
            job.Parameters.AddWithValue("id", imageId);
            await using var reader = await job.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
                (attempts, next) = (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
        }

        return new ProcessingView(imageStatus, attempts, retry.MaxAttempts, next, imageError, history);
    }

    public async Task<IReadOnlyList<FailedImageView>> FailedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT v.id, v.vehicle_id, ve.name, u.email, v.file_name, v.processing_error,
                   coalesce((SELECT j.attempt FROM image_processing_jobs j WHERE j.image_id = v.id ORDER BY j.id DESC LIMIT 1), 0)
            FROM vehicle_images v JOIN vehicles ve ON ve.id = v.vehicle_id JOIN asp_net_users u ON u.id = v.user_id
            WHERE v.processing_status = '{Failed}'
            ORDER BY v.created_at DESC LIMIT @limit
            """);
        cmd.Parameters.AddWithValue("limit", limit);
        var rows = new List<FailedImageView>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new FailedImageView(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6)));
        return rows;
    }
}
