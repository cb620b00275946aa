using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Data;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>A finished analysis to be written for a claim.</summary>
public sealed record Completion(ClaimKey Claim, AnalysisResult Result);

/// <summary>
/// Writes finished analyses, combining those that finish together into one round trip and one
/// commit (group commit). Nothing waits to fill a batch: a completion that finds the writer idle
/// goes at once, alone; those that finish while a write is in flight go together in the next one.
/// So a slow provider sees single writes with no added latency, and a fast one (a local model, or
/// a backlog of quick failures to the same answer) pays one commit per batch instead of per job.
/// </summary>
public sealed class CompletionWriter(NpgsqlDataSource db, ILogger<CompletionWriter> logger)
{
    /// <summary>
    /// Bounds a batch's size so one transaction never holds many rows locked for long (a few
    /// milliseconds for 128). 128, as many as a worker's reserve (<see cref="ClaimReserve.MaxPerWorker"/>):
    /// with 64 a drain's completions were cut at 64 while its claims carried 60-70, and 128 drained
    /// faster in 4 of 5 rounds (ADR 019). Settable for the benchmark's queue-settings figure.
    /// </summary>
    public static int MaxBatch { get; set; } = 128;

    /// <summary>
    /// How many batches may be on their way at once (their rows are disjoint: each claim completes
    /// once). Settable for the benchmark's queue-settings figure.
    /// </summary>
    public static int MaxWriters { get; set; } = 2;

    /// <summary>A second batch starts only when at least this many results wait, so batches stay large.</summary>
    public static int MinConcurrentBatch { get; set; } = 8;

    private readonly Lock _gate = new();
    private List<Pending> _waiting = [];
    private int _writers;

    /// <summary>True when written; false when the claim had been lost and nothing was written.</summary>
    public Task<bool> CompleteAsync(Completion completion)
    {
        var pending = new Pending(completion, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool lead;
        lock (_gate)
        {
            _waiting.Add(pending);
            lead = _writers == 0 || (_writers < MaxWriters && _waiting.Count >= MinConcurrentBatch);
            if (lead)
                _writers++;
        }

        if (lead)
            _ = Task.Run(DrainAsync);
        return pending.Done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _writers--;
                    return;
                }

                if (_waiting.Count <= MaxBatch)
                {
                    batch = _waiting;
                    _waiting = [];
                }
                else
                {
                    batch = _waiting[..MaxBatch];
                    _waiting.RemoveRange(0, MaxBatch);
                }
            }

            await WriteAsync(batch);
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        try
        {
            var done = await WriteTogetherAsync(batch.Select(p => p.Completion).ToList(), CancellationToken.None);
            for (var i = 0; i < batch.Count; i++)
                batch[i].Done.TrySetResult(done[i]);
            return;
        }
        catch (Exception e) when (batch.Count > 1 && (DatabaseErrors.IsDataError(e) || DatabaseErrors.IsDeadlock(e)))
        {
            // One result was refused (or the batch lost a deadlock): the whole batch rolled back.
            // One at a time, each completion succeeds or fails on its own.
            logger.LogWarning("Writing {Count} completions together failed ({Message}); writing them one by one", batch.Count, e.Message);
        }
        catch (Exception e)
        {
            // The database itself is in trouble: trying each again would only queue every later
            // result behind as many timeouts. Their leases expire and the rescuer returns them.
            foreach (var pending in batch)
                pending.Done.TrySetException(e);
            return;
        }

        foreach (var pending in batch)
        {
            try
            {
                pending.Done.TrySetResult((await WriteTogetherAsync([pending.Completion], CancellationToken.None))[0]);
            }
            catch (Exception e)
            {
                pending.Done.TrySetException(e);
            }
        }
    }

    /// <summary>
    /// Completes the jobs and stores their results in one set-based statement per owner: one round
    /// trip, one transaction, one commit, and the per-statement work (locks on every table and index
    /// touched, constraint and trigger set-up) paid once for all of them. Each completion is fenced on
    /// its own, so a lost claim is dropped (false) while its neighbours are written; every part hangs
    /// off the fenced job delete. A completed job leaves the job table (no new row version, no index
    /// entries; graphile-worker's shape, ADR 017): its record is the history row written here, outcome
    /// complete, with the job's id, attempt and priority, which the explorer and reports read. Results
    /// are upserts keyed by image, so a second completion cannot duplicate them. The statement announces
    /// its photos' complete events itself (<see cref="StatusAnnouncement"/>, ADR 019). An error in any part
    /// rolls back all of them, the events with them.
    /// </summary>
    public async Task<IReadOnlyList<bool>> WriteTogetherAsync(IReadOnlyList<Completion> completions, CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        foreach (var group in completions.GroupBy(c => c.Claim.Owner))
            batch.BatchCommands.Add(Statement(group.Key, group.ToList()));
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

    /// <summary>The completion statement (<see cref="WriteTogetherAsync"/>), built once: its announcement is a method's text, not a constant.</summary>
    private static readonly string CompleteSql = $"""
        WITH input AS (
            SELECT * FROM unnest(@jobs, @attempts, @metadata, @categories, @angles, @confidences, @started, @tiers,
                                 @providers, @models, @prompt_tokens, @completion_tokens, @sources)
                AS i(job, attempt, metadata, category, angle, confidence, started, tier, provider, model, prompt_tokens, completion_tokens, source)),
        job AS (
            DELETE FROM image_processing_jobs j
            USING input i
            WHERE j.id = i.job AND j.locked_by = @owner AND j.attempt = i.attempt -- the fence (see ClaimStatements.Fence)
            RETURNING j.id, j.image_id, j.attempt, j.priority, i.metadata, i.category, i.angle, i.confidence, i.started, i.tier,
                      i.provider, i.model, i.prompt_tokens, i.completion_tokens, i.source),
        image AS (
            {PhotoStatus.Complete}
            RETURNING v.id, v.vehicle_id, v.user_id, job.attempt),
        announced AS MATERIALIZED ({StatusAnnouncement.Of("image", Complete)}),
        angle AS (
            INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source)
            SELECT job.image_id, job.category, job.angle, job.confidence, job.source FROM job WHERE job.category IS NOT NULL
            ON CONFLICT (image_id, source) DO UPDATE
            SET category = EXCLUDED.category, angle = EXCLUDED.angle, confidence = EXCLUDED.confidence, updated_at = now()),
        -- An analysis replaces an inherited answer and an inherited answer an older analysis (Embeddings/StackedAnalysis).
        superseded AS (
            DELETE FROM vehicle_image_angles a USING job
            WHERE a.image_id = job.image_id AND job.category IS NOT NULL
              AND a.source IN ('{Images.AngleSource.Ai}', '{Images.AngleSource.Inherited}') AND a.source <> job.source),
        cleared AS (
            DELETE FROM image_spatial_metadata s USING job WHERE s.image_id = job.image_id),
        located AS (
            INSERT INTO image_spatial_metadata (image_id, component_name, area, condition, confidence, bbox_x, bbox_y, bbox_width, bbox_height, tier)
            SELECT job.image_id, c.name, c.area, c.condition, c.confidence, c.x, c.y, c.w, c.h, c.tier
            FROM unnest(@part_jobs, @names, @areas, @conditions, @part_confidences, @xs, @ys, @ws, @hs, @part_tiers)
                AS c(job, name, area, condition, confidence, x, y, w, h, tier)
            JOIN job ON job.id = c.job),
        -- Tier 1's plates and faces replace the photo's ai boxes, unless a person drew boxes or reviewed it (issue 27).
        privacy AS (
            SELECT job.id, job.image_id FROM job JOIN unnest(@privacy_jobs) AS p(job) ON p.job = job.id
            WHERE NOT EXISTS (SELECT 1 FROM image_privacy_boxes u WHERE u.image_id = job.image_id AND u.source = 'user')
              AND NOT EXISTS (SELECT 1 FROM image_privacy_reviews r WHERE r.image_id = job.image_id)),
        ai_cleared AS (
            DELETE FROM image_privacy_boxes b USING privacy WHERE b.image_id = privacy.image_id AND b.source = 'ai'),
        ai_boxes AS (
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source)
            SELECT privacy.image_id, b.kind, b.x, b.y, b.w, b.h, 'ai'
            FROM unnest(@box_jobs, @box_kinds, @box_xs, @box_ys, @box_ws, @box_hs) AS b(job, kind, x, y, w, h)
            JOIN privacy ON privacy.id = b.job),
        attempt AS (
            INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome,
                                                   provider, model, prompt_tokens, completion_tokens, priority)
            SELECT job.id, job.image_id, job.attempt, job.started, now(), job.tier, '{AttemptOutcome.Complete}',
                   job.provider, job.model, job.prompt_tokens, job.completion_tokens, job.priority FROM job)
        SELECT job.id FROM job CROSS JOIN announced
        """;

    private static NpgsqlBatchCommand Statement(string owner, List<Completion> completions)
    {
        var cmd = new NpgsqlBatchCommand(CompleteSql);
        var p = cmd.Parameters;
        p.AddWithValue("owner", owner);
        p.AddWithValue("jobs", completions.Select(c => c.Claim.JobId).ToArray());
        p.AddWithValue("attempts", completions.Select(c => c.Claim.Attempt).ToArray());
        p.AddWithValue("metadata", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, completions.Select(c => c.Result.Metadata.ToJsonString()).ToArray());
        p.AddWithValue("categories", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Categorization?.Category).ToArray());
        p.AddWithValue("angles", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Categorization?.Angle).ToArray());
        p.AddWithValue("confidences", NpgsqlDbType.Array | NpgsqlDbType.Double,
            completions.Select(c => c.Result.Categorization is { } k ? Math.Clamp(k.Confidence, 0, 1) : (double?)null).ToArray());
        p.AddWithValue("sources", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.CategorizationSource).ToArray());
        p.AddWithValue("started", completions.Select(c => c.Claim.StartedAt).ToArray());
        p.AddWithValue("tiers", completions.Select(c => c.Result.TierReached).ToArray());
        p.AddWithValue("providers", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Usage?.Provider).ToArray());
        p.AddWithValue("models", NpgsqlDbType.Array | NpgsqlDbType.Text, completions.Select(c => c.Result.Usage?.Model).ToArray());
        p.AddWithValue("prompt_tokens", NpgsqlDbType.Array | NpgsqlDbType.Integer, completions.Select(c => c.Result.Usage?.PromptTokens).ToArray());
        p.AddWithValue("completion_tokens", NpgsqlDbType.Array | NpgsqlDbType.Integer, completions.Select(c => c.Result.Usage?.CompletionTokens).ToArray());
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
        p.AddWithValue("privacy_jobs", completions.Where(c => c.Result.PrivacyBoxes is not null).Select(c => c.Claim.JobId).ToArray());
        var boxes = completions.SelectMany(c => (c.Result.PrivacyBoxes ?? []).Select(b => (c.Claim.JobId, Box: b))).ToList();
        p.AddWithValue("box_jobs", boxes.Select(x => x.JobId).ToArray());
        p.AddWithValue("box_kinds", NpgsqlDbType.Array | NpgsqlDbType.Text, boxes.Select(x => x.Box.Kind).ToArray());
        p.AddWithValue("box_xs", NpgsqlDbType.Array | NpgsqlDbType.Double, boxes.Select(x => x.Box.X).ToArray());
        p.AddWithValue("box_ys", NpgsqlDbType.Array | NpgsqlDbType.Double, boxes.Select(x => x.Box.Y).ToArray());
        p.AddWithValue("box_ws", NpgsqlDbType.Array | NpgsqlDbType.Double, boxes.Select(x => x.Box.Width).ToArray());
        p.AddWithValue("box_hs", NpgsqlDbType.Array | NpgsqlDbType.Double, boxes.Select(x => x.Box.Height).ToArray());
        return cmd;
    }

    private sealed record Pending(Completion Completion, TaskCompletionSource<bool> Done);
}
