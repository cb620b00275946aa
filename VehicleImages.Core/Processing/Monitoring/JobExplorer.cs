using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Processing.Chores;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Monitoring;

/// <summary>Which jobs: by status, free text over file names and errors, vehicle, owner; null = any.</summary>
public sealed record JobFilter(string? Status = null, string? Q = null, Guid? VehicleId = null, Guid? UserId = null);

/// <summary>Either these jobs, or every job the filter matches (Oban Web's "all matching").</summary>
public sealed record JobSelection(IReadOnlyList<long>? JobIds = null, JobFilter? Filter = null);

public sealed record JobRow(long JobId, Guid ImageId, string FileName, Guid VehicleId, string OwnerEmail, string Status, int Attempt,
    int MaxAttempts, short Priority, string? LastError, DateTimeOffset RunAt, DateTimeOffset UpdatedAt);

public sealed record JobPage(long Total, IReadOnlyList<JobRow> Items);

public sealed record JobAttemptView(int Attempt, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Outcome, string? Error,
    string? Provider, string? Model, long DurationMs, int? PromptTokens, int? CompletionTokens, int TierReached);

public sealed record JobDetail(JobRow Job, IReadOnlyList<JobAttemptView> Attempts);

/// <summary>
/// The admin's job explorer: every job findable by filter and paged on the server, one job with its
/// attempt timeline. The same filter selects the jobs that bulk retry and cancel act on
/// (<see cref="ProcessingCommands"/>), so "all matching" means exactly what the table shows.
/// </summary>
public sealed class JobExplorer(NpgsqlDataSource db, RetrySchedule retry)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    private const string Columns = """
        j.id, j.image_id, v.file_name, v.vehicle_id, coalesce(u.email, ''), j.status, j.attempt, j.priority, j.last_error, j.run_at, j.updated_at
        """;

    /// <summary>
    /// The jobs people see: the job table (pending, processing, failed, cancelled) and the completed jobs,
    /// which leave it with their completion and live on as their completing attempt (ADR 017), for as
    /// long as completed job rows used to stay before they were pruned (<see cref="PruneFinishedJobs.Age"/>).
    /// A complete row still in the job table (left by an instance of an older version) is not listed
    /// twice: its history row stands for it, and the pruning chore removes it.
    /// </summary>
    private static readonly string From = $"""
        FROM (
            SELECT id, image_id, status, attempt, priority, last_error, run_at, updated_at
            FROM image_processing_jobs WHERE status <> '{Images.ProcessingStatus.Complete}'
            UNION ALL
            SELECT job_id, image_id, '{Images.ProcessingStatus.Complete}'::text, attempt, coalesce(priority, {JobPriority.Upload}::smallint),
                   NULL::text, started_at, finished_at
            FROM image_processing_attempts
            WHERE outcome = '{AttemptOutcome.Complete}' AND finished_at > now() - interval '{(long)PruneFinishedJobs.Age.TotalSeconds} seconds'
        ) j
        JOIN vehicle_images v ON v.id = j.image_id
        LEFT JOIN asp_net_users u ON u.id = v.user_id
        """;

    /// <summary>The WHERE clause of a filter (parameters @status, @q, @vehicle, @user); shared with the bulk commands.</summary>
    internal const string Where = """
        (@status IS NULL OR j.status = @status)
        AND (@vehicle IS NULL OR v.vehicle_id = @vehicle)
        AND (@user IS NULL OR v.user_id = @user)
        AND (@q IS NULL OR v.file_name ILIKE @q ESCAPE '\' OR j.last_error ILIKE @q ESCAPE '\')
        """;

    public async Task<JobPage> ListAsync(JobFilter filter, int page, int pageSize, CancellationToken cancellationToken)
    {
        pageSize = Math.Clamp(pageSize, 1, MaxPageSize);
        page = Math.Max(page, 1);
        await using var cmd = db.CreateCommand($"""
            SELECT {Columns}, count(*) OVER () {From}
            WHERE {Where}
            ORDER BY j.updated_at DESC, j.id DESC
            LIMIT @size OFFSET @offset
            """);
        AddFilter(cmd, filter);
        cmd.Parameters.AddWithValue("size", pageSize);
        cmd.Parameters.AddWithValue("offset", (long)(page - 1) * pageSize);
        var rows = new List<JobRow>();
        long total = 0;
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Row(reader));
            total = reader.GetInt64(11);
        }

        if (rows.Count == 0 && page > 1)
            total = await CountAsync(filter, cancellationToken);
        return new JobPage(total, rows);
    }

    /// <summary>How many jobs of each status the filter matches, status aside (the explorer's tabs).</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountsByStatusAsync(JobFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"SELECT j.status, count(*) {From} WHERE {Where} GROUP BY j.status");
        AddFilter(cmd, filter with { Status = null });
        var counts = new Dictionary<string, long>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    public async Task<long> CountAsync(JobFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"SELECT count(*) {From} WHERE {Where}");
        AddFilter(cmd, filter);
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<JobDetail?> GetAsync(long jobId, CancellationToken cancellationToken)
    {
        JobRow job;
        await using (var cmd = db.CreateCommand($"SELECT {Columns} {From} WHERE j.id = @id"))
        {
            cmd.Parameters.AddWithValue("id", jobId);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
                return null;
            job = Row(reader);
        }

        var attempts = new List<JobAttemptView>();
        await using (var cmd = db.CreateCommand("""
            SELECT attempt, started_at, finished_at, outcome, error, provider, model,
                   (extract(epoch FROM finished_at - started_at) * 1000)::bigint, prompt_tokens, completion_tokens, tier_reached
            FROM image_processing_attempts WHERE job_id = @id ORDER BY id
            """))
        {
            cmd.Parameters.AddWithValue("id", jobId);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                attempts.Add(new JobAttemptView(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                    reader.GetString(3), Text(reader, 4), Text(reader, 5), Text(reader, 6), reader.GetInt64(7),
                    reader.IsDBNull(8) ? null : reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetInt32(9), reader.GetInt32(10)));
        }

        return new JobDetail(job, attempts);
    }

    /// <summary>Adds @status, @q (as an escaped ILIKE pattern), @vehicle and @user.</summary>
    internal static void AddFilter(NpgsqlCommand cmd, JobFilter? filter)
    {
        var q = string.IsNullOrWhiteSpace(filter?.Q) ? null
            : "%" + filter!.Q!.Trim().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
        cmd.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Text) { Value = (object?)Blank(filter?.Status) ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("q", NpgsqlDbType.Text) { Value = (object?)q ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("vehicle", NpgsqlDbType.Uuid) { Value = (object?)filter?.VehicleId ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Uuid) { Value = (object?)filter?.UserId ?? DBNull.Value });
    }

    private JobRow Row(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetGuid(1), r.GetString(2), r.GetGuid(3), r.GetString(4), r.GetString(5),
        r.GetInt32(6), retry.MaxAttempts, r.GetInt16(7), Text(r, 8), r.GetFieldValue<DateTimeOffset>(9), r.GetFieldValue<DateTimeOffset>(10));

    private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
