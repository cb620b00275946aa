using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Status;
using static VehicleImages.Core.Images.ProcessingStatus;

namespace VehicleImages.Core.Embeddings;

/// <summary>
/// <c>Analysis__AnalyzeStackedPhotos</c> = false: one provider analysis per stack. The worker asks here after the local
/// steps (which placed the photo in its stack) and before the analyzer. Decided under the vehicle's lock, so two photos
/// of a burst never both pay:
/// <list type="bullet">
/// <item>another photo of the stack is being analysed for it (<see cref="Marker"/>, pending or processing), or the best
/// is still waiting for its analysis → this photo waits (<see cref="AnalysisFailure.Deferred"/>, no attempt spent);</item>
/// <item>this photo stands alone or is its stack's best, or the best failed → it is analysed, marked as the stack's;</item>
/// <item>the best is analysed → this photo takes its category and angle (source <c>inherited</c>) with no call.</item>
/// </list>
/// When the best changes to a photo that only inherited (a person's pick, a merge, a split),
/// <see cref="AnalyseBestAsync"/> queues it for its own analysis.
/// </summary>
public sealed class StackedAnalysis(IDbContextFactory<VehicleImagesDbContext> contexts, IOptions<AnalysisOptions> options, TimeProvider time)
{
    /// <summary>ai_scan_metadata key: this photo is (or was) analysed on its stack's behalf; others wait while it is pending or processing.</summary>
    public const string Marker = "analysed_for_stack";

    /// <summary>ai_scan_metadata key of an inherited result: the photo whose category and angle it took.</summary>
    public const string InheritedFrom = "inherited_from";

    /// <summary>How long a photo waits before it looks again at its stack's best (settable for tests).</summary>
    public static TimeSpan WaitDelay { get; set; } = TimeSpan.FromSeconds(2);

    private sealed record Member(Guid Id, string Status, bool Marked, bool IsBest, string? Category, string? Angle, double? Confidence);

    /// <summary>The photo's inherited result; null when it is to be analysed. Throws <see cref="AnalysisFailure.Deferred"/> when it waits.</summary>
    public async Task<AnalysisResult?> InheritedAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        if (options.Value.AnalyzeStackedPhotos)
            return null;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicleId = await db.VehicleImages.Where(i => i.Id == request.ImageId).Select(i => (Guid?)i.VehicleId).SingleOrDefaultAsync(cancellationToken);
        if (vehicleId is not { } vehicle)
            return null;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicle, cancellationToken);
        var members = await db.Database.SqlQuery<Member>($"""
            SELECT v.id, v.processing_status AS status, coalesce(v.ai_scan_metadata ? {Marker}, false) AS marked,
                   vi_stack_best(m.stack_id) = v.id AS is_best, shown.category, shown.angle, shown.confidence
            FROM image_stack_members m
            JOIN vehicle_images v ON v.id = m.image_id
            LEFT JOIN LATERAL (SELECT a.category, a.angle, a.confidence FROM vehicle_image_angles a
                               WHERE a.image_id = v.id AND a.source IN ({AngleSource.User}, {AngleSource.Ai})
                               ORDER BY (a.source = {AngleSource.User}) DESC LIMIT 1) shown ON true
            WHERE m.stack_id = vi_image_stack({request.ImageId})
            """).ToListAsync(cancellationToken);

        if (members.Any(m => m.Id != request.ImageId && m.Marked && m.Status is Pending or ProcessingStatus.Processing))
            throw Wait("another photo of its stack is being analysed for it");
        var best = members.SingleOrDefault(m => m.IsBest);
        if (best is null || best.Id == request.ImageId || best.Status is Failed or Cancelled)
        {
            // Analysed on the stack's behalf: photos stacked with it from now on wait for it.
            await db.Database.ExecuteSqlAsync($"""
                UPDATE vehicle_images SET ai_scan_metadata = coalesce(ai_scan_metadata, jsonb_build_object()) || jsonb_build_object({Marker}, true)
                WHERE id = {request.ImageId}
                """, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return null;
        }
        if (best.Status == Complete && best.Category is not null && best.Angle is not null)
        {
            var metadata = new JsonObject { [InheritedFrom] = best.Id.ToString(), ["analyzed_at"] = time.GetUtcNow() };
            return new AnalysisResult(metadata, new AiCategorization(best.Category, best.Angle, best.Confidence ?? 0), [], 0)
            {
                CategorizationSource = AngleSource.Inherited,
            };
        }
        if (best.Status == Complete)
            await QueueBestAsync(db, vehicle, cancellationToken); // the best only inherited (a person's pick): it is analysed now
        await tx.CommitAsync(cancellationToken);
        throw Wait("its stack's best is not analysed yet");
    }

    private static AnalysisException Wait(string why) => new(AnalysisFailure.Deferred, "waits: " + why, WaitDelay);

    /// <summary>
    /// The stacks of the vehicle whose best only inherited its category and angle get that best analysed (queued through
    /// <see cref="PhotoStatus.EnqueueForReanalysis"/>): after a person's pick, a merge or a split. Runs in the caller's transaction.
    /// </summary>
    public static Task<int> AnalyseBestAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken) =>
        QueueBestAsync(db, vehicleId, cancellationToken);

    private static Task<int> QueueBestAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync($"""
            WITH chosen AS (
                SELECT v.id FROM vehicle_images v
                WHERE v.vehicle_id = @vehicle AND v.processing_status = '{Complete}' AND v.ai_scan_metadata ? '{InheritedFrom}'
                  AND coalesce(vi_stack_best(vi_image_stack(v.id)), v.id) = v.id),
            images AS (
                {PhotoStatus.EnqueueForReanalysis}
                RETURNING v.id)
            INSERT INTO image_processing_jobs (image_id, priority) SELECT id, {JobPriority.Upload} FROM images
            ON CONFLICT (image_id) WHERE status IN ('{Pending}', '{ProcessingStatus.Processing}') DO NOTHING
            """, [new Npgsql.NpgsqlParameter("vehicle", vehicleId)], cancellationToken);
}
