using Npgsql;
using VehicleImages.Core.Analysis;
using static VehicleImages.Core.Images.ProcessingStatus;

namespace VehicleImages.Core.Processing.Status;

/// <summary>
/// Every change of a photo's status (vehicle_images.processing_status), named, in one place: no other
/// code writes that column. Each transition is the photo's UPDATE, which the statement that moves the
/// job composes into its own text as a CTE (one statement, one round trip, as before), reading the rows
/// it names from the CTE the comment says; the statement adds its own RETURNING. How a change is
/// announced is beside it (<see cref="StatusAnnouncement"/>: the claim and the completion announce
/// themselves; every other transition is announced by the status trigger, migrations/Sql).
/// </summary>
internal static class PhotoStatus
{
    /// <summary>
    /// A new photo arrives pending (its row is inserted so, <c>ImageIngestService</c>); the trigger
    /// trg_vehicle_images_enqueue (migrations/Sql) makes its job.
    /// </summary>
    public const string OnArrival = Pending;

    /// <summary>Enqueue (the backfill sweep): the photos of CTE <c>missing</c> (column id) wait for a job.</summary>
    public const string Enqueue = $"UPDATE vehicle_images v SET processing_status = '{Pending}' FROM missing WHERE v.id = missing.id";

    /// <summary>
    /// Enqueue for a fresh analysis (re-analysis): the photos of CTE <c>chosen</c> (column id) wait, with
    /// their analysis so far kept under previous_analysis and its usage totals carried on.
    /// </summary>
    public const string EnqueueForReanalysis = $"""
        UPDATE vehicle_images v
                SET processing_status = '{Pending}', processing_error = NULL,
                    ai_scan_metadata = CASE WHEN v.ai_scan_metadata IS NULL THEN NULL ELSE jsonb_strip_nulls(jsonb_build_object(
                        'previous_analysis', v.ai_scan_metadata - 'previous_analysis' - '{Tiers.UsageKey}',
                        '{Tiers.UsageKey}', v.ai_scan_metadata->'{Tiers.UsageKey}')) END
                FROM chosen WHERE v.id = chosen.id
        """;

    /// <summary>Claim: the photos of CTE <c>claimed</c> (column image_id) are in processing (announced by <see cref="StatusAnnouncement.Of"/>).</summary>
    public const string Claim = $"""
        UPDATE vehicle_images v SET processing_status = '{Images.ProcessingStatus.Processing}', processing_error = NULL
                    FROM claimed WHERE v.id = claimed.image_id
        """;

    /// <summary>
    /// Complete: the photos of CTE <c>job</c> (columns image_id, metadata) are complete, the analysis
    /// (metadata) merged into ai_scan_metadata (announced by <see cref="StatusAnnouncement.Of"/>).
    /// </summary>
    public const string Complete = $"""
        UPDATE vehicle_images v
                SET processing_status = '{Images.ProcessingStatus.Complete}', processing_error = NULL,
                    ai_scan_metadata = coalesce(v.ai_scan_metadata, jsonb_build_object()) || job.metadata
                FROM job WHERE v.id = job.image_id
        """;

    /// <summary>
    /// Fail an attempt, or wait for a provider: the photo of CTE <c>job</c> (columns image_id, waits)
    /// waits (pending, no reason) when its provider is known unavailable (waits), else takes @status
    /// (<see cref="AfterFailure"/>) and the reason @error.
    /// </summary>
    public const string Fail = $"""
        UPDATE vehicle_images v
                SET processing_status = CASE WHEN job.waits THEN '{Pending}' ELSE @status END,
                    processing_error = CASE WHEN job.waits THEN NULL ELSE @error END
                FROM job WHERE v.id = job.image_id
        """;

    /// <summary>The status a failed attempt leaves (<see cref="Fail"/>'s @status): failed when it was the last, else pending for a retry.</summary>
    public static string AfterFailure(bool final) => final ? Failed : Pending;

    /// <summary>
    /// Release (a claim given back, or every claim of a stopping process): the photos of CTE
    /// <c>released</c> (column image_id) wait again.
    /// </summary>
    public const string Release = $"UPDATE vehicle_images v SET processing_status = '{Pending}' FROM released WHERE v.id = released.image_id";

    /// <summary>
    /// Rescue (a claim whose lease expired): the photos of CTE <c>job</c> (columns image_id, status) take
    /// their job's new status (pending again or failed) with the reason @error.
    /// </summary>
    public const string Rescue = "UPDATE vehicle_images v SET processing_status = job.status, processing_error = @error\n                FROM job WHERE v.id = job.image_id";

    /// <summary>Retry one photo: @image waits again when failed, or cancelled and @admin asks.</summary>
    public const string Retry = $"""
        UPDATE vehicle_images SET processing_status = '{Pending}', processing_error = NULL
                        WHERE id = @image AND (processing_status = '{Failed}' OR (@admin AND processing_status = '{Cancelled}'))
        """;

    /// <summary>Retry every failed photo.</summary>
    public const string RetryAllFailed = $"""
        UPDATE vehicle_images SET processing_status = '{Pending}', processing_error = NULL
                        WHERE processing_status = '{Failed}'
        """;

    /// <summary>Retry chosen jobs' photos: those of CTE <c>chosen</c> (column image_id) that are failed or cancelled wait again.</summary>
    public const string RetryChosen = $"""
        UPDATE vehicle_images v SET processing_status = '{Pending}', processing_error = NULL
                        FROM chosen WHERE v.id = chosen.image_id AND v.processing_status IN ('{Failed}', '{Cancelled}')
        """;

    /// <summary>Cancel: the photos of CTE <c>job</c> (column image_id) are cancelled, with the reason @reason.</summary>
    public const string Cancel = $"""
        UPDATE vehicle_images v SET processing_status = '{Cancelled}', processing_error = @reason
                        FROM job WHERE v.id = job.image_id
        """;

    /// <summary>
    /// Wait for a provider (it was just marked unavailable): the jobs whose last attempts that provider's
    /// outage spent, within @window, get those attempts back and wait, due now, and their photos (pending or
    /// failed) wait too, without a reason; the number of jobs. Analysis code asks for this
    /// (<see cref="WaitForProviderAsync"/>); it does not write statuses itself.
    /// </summary>
    private const string WaitForProviderSql = $"""
        WITH refunded AS (
            UPDATE image_processing_jobs j
            SET attempt = greatest(j.attempt - j.outage_attempts, 0), outage_provider = NULL, outage_attempts = 0,
                status = '{Pending}', run_at = now(),
                finished_at = NULL, updated_at = now()
            WHERE j.outage_provider = @name AND j.updated_at > now() - @window
              AND (j.status = '{Pending}' OR (j.status = '{Failed}' AND NOT EXISTS (
                    SELECT 1 FROM image_processing_jobs l WHERE l.image_id = j.image_id AND l.status IN ('{Pending}', '{Images.ProcessingStatus.Processing}'))))
            RETURNING j.image_id),
        images AS (
            UPDATE vehicle_images v SET processing_status = '{Pending}', processing_error = NULL
            FROM refunded WHERE v.id = refunded.image_id AND v.processing_status IN ('{Pending}', '{Failed}'))
        SELECT count(*) FROM refunded
        """;

    /// <summary>
    /// Runs the wait-for-a-provider transition (<see cref="WaitForProviderSql"/>) for <paramref name="provider"/>
    /// on the caller's connection and transaction (the one that marked the provider unavailable); how many jobs got their attempts back.
    /// </summary>
    public static async Task<long> WaitForProviderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, TimeSpan window,
        CancellationToken cancellationToken)
    {
        await using var refund = new NpgsqlCommand(WaitForProviderSql, connection, transaction);
        refund.Parameters.AddWithValue("name", provider);
        refund.Parameters.AddWithValue("window", window);
        return (long)(await refund.ExecuteScalarAsync(cancellationToken))!;
    }
}
