using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Listings;

namespace VehicleImages.Core.Embeddings;

/// <summary>A photo's place in its stack as the API shows it: no stack (null, size 1, its own best) when it stands alone.</summary>
public sealed record StackInfo(Guid? StackId, bool IsStackBest, int StackSize)
{
    public static readonly StackInfo Alone = new(null, true, 1);
}

/// <summary>One stacked photo with what the ranking needs and the categorizations a keep-best checks.</summary>
public sealed record StackedPhoto(Guid StackId, ListingCandidate Photo, string? PersonCategory, string? PersonAngle, bool IsBest);

public enum StackChange { Done, NotFound, Invalid, NotStacked }

/// <summary>
/// Near-duplicate stacks within a vehicle. A photo whose embedding is within <see cref="Threshold"/> (cosine distance)
/// of another photo of the same vehicle joins that photo's stack (single link, to its nearest neighbour). A person's
/// split makes a photo stand alone for good; a merge puts photos (and their stacks) into one. The best of a stack is the
/// contract's one ranking (<see cref="PhotoRanking"/>), the person's pick first.
/// </summary>
public sealed class StackService(IDbContextFactory<VehicleImagesDbContext> contexts)
{
    /// <summary>SQL vi_image_stack: the photo's stack when it holds two photos or more (in LINQ, for one-query reads).</summary>
    public static Guid? StackOf(Guid imageId) => throw new NotSupportedException("only in a database query");

    /// <summary>SQL vi_stack_best: the stack's best photo by the contract's one ranking (in LINQ, for one-query reads).</summary>
    public static Guid? BestOf(Guid stackId) => throw new NotSupportedException("only in a database query");

    /// <summary>A vehicle's stacks changed in this process (a photo placed, a split, a merge, a pick, a keep-best): open pages read them again.</summary>
    public event Action<Guid>? Changed;

    internal void Announce(Guid vehicleId) => Changed?.Invoke(vehicleId);

    /// <summary>
    /// Cosine distance under which two photos are near-duplicates. Chosen by measurement on bursts made from the test
    /// photos against different photos, the traffic-camera views of different cars included (docs/performance.md,
    /// StackThresholdTests).
    /// </summary>
    public const double Threshold = 0.10;

    /// <summary>
    /// Stacks a newly measured photo of <paramref name="vehicle"/>, whose embedding is <paramref name="mine"/> (the local step has
    /// both at hand), with every photo of the vehicle close enough: it joins its nearest neighbour's stack, and the other
    /// close photos (and their stacks) join too. Single link over all close pairs, so the stacks do not depend on the order
    /// the photos were measured in (a burst's copies measured in parallel end in one stack, whichever came first).
    /// </summary>
    public async Task PlaceAsync(Guid imageId, Guid vehicle, float[] mine, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicle, cancellationToken);
        if (await db.ImageStackMembers.AnyAsync(m => m.ImageId == imageId, cancellationToken))
            return; // placed already, or split out by a person
        var others = await (
                from e in db.ImageEmbeddings.AsNoTracking()
                join i in db.VehicleImages on e.ImageId equals i.Id
                where i.VehicleId == vehicle && i.Id != imageId
                from m in db.ImageStackMembers.Where(m => m.ImageId == i.Id).DefaultIfEmpty()
                where m == null || !m.StandsAlone
                select new { i.Id, e.Vector, StackId = m == null ? null : m.StackId })
            .ToListAsync(cancellationToken);
        var near = others.Select(o => (o.Id, o.StackId, Distance: ImageEmbedder.Distance(mine, o.Vector)))
            .Where(o => o.Distance <= Threshold)
            .OrderBy(o => o.Distance).ThenBy(o => o.Id)
            .ToList();
        if (near.Count == 0)
            return;
        // The nearest stacked neighbour's stack, else a new one; every other close stack is folded into it.
        var (target, folded) = await JoinAsync(db, vehicle,
            [.. near.Where(o => o.StackId is not null).Select(o => o.StackId!.Value).Distinct()], cancellationToken);
        if (folded.Count > 0)
        {
            // A person's pick in a folded stack stays the pick when the joined stack has none.
            var picks = await db.ImageStacks.Where(s => s.Id == target || folded.Contains(s.Id)).ToListAsync(cancellationToken);
            if (picks.FirstOrDefault(s => s.Id == target) is { PickedImageId: null } kept
                && picks.Where(s => s.Id != target).Select(s => s.PickedImageId).FirstOrDefault(p => p is not null) is { } pick)
                kept.PickedImageId = pick;
        }
        foreach (var neighbour in near.Where(o => o.StackId is null))
            await Upsert(db, neighbour.Id, target);
        db.ImageStackMembers.Add(new ImageStackMember { ImageId = imageId, StackId = target, UpdatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync(cancellationToken);
        if (folded.Count > 0)
        {
            await db.ImageStacks.Where(s => folded.Contains(s.Id)).ExecuteDeleteAsync(cancellationToken);
            // Two stacks became one: a best that only inherited its category gets its own analysis, as after a merge.
            await StackedAnalysis.AnalyseBestAsync(db, vehicle, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        Announce(vehicle);
    }

    /// <summary>
    /// Several stacks (or none) becoming one: the first of <paramref name="stacks"/>, or a new stack of the vehicle, takes the
    /// members of the others, whose rows the caller deletes once it has saved (the returned <c>Folded</c>).
    /// </summary>
    private static async Task<(Guid Target, List<Guid> Folded)> JoinAsync(VehicleImagesDbContext db, Guid vehicle, List<Guid> stacks,
        CancellationToken cancellationToken)
    {
        Guid target;
        if (stacks.Count > 0)
            target = stacks[0];
        else
        {
            var stack = new ImageStack { Id = Guid.NewGuid(), VehicleId = vehicle };
            db.ImageStacks.Add(stack);
            target = stack.Id;
        }
        var folded = stacks.Skip(1).ToList();
        if (folded.Count > 0)
            foreach (var m in await db.ImageStackMembers.Where(m => m.StackId != null && folded.Contains(m.StackId.Value)).ToListAsync(cancellationToken))
            {
                m.StackId = target;
                m.UpdatedAt = DateTimeOffset.UtcNow;
            }
        return (target, folded);
    }

    private static async Task Upsert(VehicleImagesDbContext db, Guid imageId, Guid? stackId)
    {
        var row = await db.ImageStackMembers.SingleOrDefaultAsync(m => m.ImageId == imageId);
        if (row is null)
            db.ImageStackMembers.Add(new ImageStackMember { ImageId = imageId, StackId = stackId, UpdatedAt = DateTimeOffset.UtcNow });
        else
        {
            row.StackId = stackId;
            row.StandsAlone = false;
            row.UpdatedAt = DateTimeOffset.UtcNow;
        }
    }

    /// <summary>Every photo of the vehicle in a stack of two or more, with its ranking data.</summary>
    public static async Task<List<StackedPhoto>> StackedAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken)
    {
        var rows = await db.Database.SqlQuery<StackedRow>($"""
            SELECT m.stack_id, v.id AS image_id, v.processing_status AS status,
                   coalesce(a.category, 'unknown') AS category, coalesce(a.angle, 'unknown') AS angle,
                   CASE WHEN jsonb_typeof(v.ai_scan_metadata->{Tiers.ClassificationKey}->'quality_score') = 'number'
                        THEN (v.ai_scan_metadata->{Tiers.ClassificationKey}->>'quality_score')::numeric::int END AS quality,
                   v.width, v.height, v.taken_at, v.created_at, (s.picked_image_id = v.id) IS TRUE AS picked,
                   e.focus, e.exposure, u.category AS person_category, u.angle AS person_angle,
                   vi_stack_best(m.stack_id) = v.id AS is_best
            FROM image_stack_members m
            JOIN image_stacks s ON s.id = m.stack_id
            JOIN vehicle_images v ON v.id = m.image_id
            LEFT JOIN image_embeddings e ON e.image_id = v.id
            LEFT JOIN vehicle_image_angles u ON u.image_id = v.id AND u.source = 'user'
            LEFT JOIN LATERAL (SELECT category, angle FROM vehicle_image_angles
                               WHERE image_id = v.id ORDER BY (source = 'user') DESC, (source = 'ai') DESC LIMIT 1) a ON true
            WHERE s.vehicle_id = {vehicleId}
              AND (SELECT count(*) FROM image_stack_members o WHERE o.stack_id = m.stack_id) > 1
            """).ToListAsync(cancellationToken);
        return [.. rows.Select(r => new StackedPhoto(r.StackId,
            new ListingCandidate(r.ImageId, r.Status, r.Category, r.Angle, r.Quality, r.Width, r.Height, r.TakenAt, r.CreatedAt, null,
                r.Picked, r.Focus, r.Exposure), r.PersonCategory, r.PersonAngle, r.IsBest))];
    }

    private sealed record StackedRow(Guid StackId, Guid ImageId, string Status, string Category, string Angle, int? Quality,
        int? Width, int? Height, DateTimeOffset? TakenAt, DateTimeOffset CreatedAt, bool Picked, double? Focus, double? Exposure,
        string? PersonCategory, string? PersonAngle, bool IsBest);

    /// <summary>
    /// Each stacked photo's place: stack, whether it is the best, the stack's size. The best is decided in SQL
    /// (vi_stack_best, the ranking of <see cref="PhotoRanking"/> in the database) so one-query reads and these agree.
    /// </summary>
    public static Dictionary<Guid, StackInfo> Describe(IEnumerable<StackedPhoto> stacked)
    {
        var result = new Dictionary<Guid, StackInfo>();
        foreach (var stack in stacked.GroupBy(s => s.StackId))
        {
            var count = stack.Count();
            foreach (var p in stack)
                result[p.Photo.ImageId] = new StackInfo(stack.Key, p.IsBest, count);
        }
        return result;
    }

    public static async Task<Dictionary<Guid, StackInfo>> DescribeVehicleAsync(VehicleImagesDbContext db, Guid vehicleId, CancellationToken cancellationToken) =>
        Describe(await StackedAsync(db, vehicleId, cancellationToken));

    public async Task<Dictionary<Guid, StackInfo>> DescribeVehicleAsync(Guid vehicleId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await DescribeVehicleAsync(db, vehicleId, cancellationToken);
    }

    /// <summary>The caller's photo's place among stacks; null when the photo is not the caller's.</summary>
    public async Task<StackInfo?> DescribeImageAsync(Caller caller, Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicleId = await db.VehicleImages.VisibleTo(caller).Where(i => i.Id == imageId).Select(i => (Guid?)i.VehicleId).SingleOrDefaultAsync(cancellationToken);
        if (vehicleId is not { } vehicle)
            return null;
        return (await DescribeVehicleAsync(db, vehicle, cancellationToken)).GetValueOrDefault(imageId) ?? StackInfo.Alone;
    }

    /// <summary>A person splits a photo out of its stack: it stands alone and is never stacked again automatically.</summary>
    public async Task<StackChange> SplitAsync(Caller caller, Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicleId = await db.VehicleImages.VisibleTo(caller).Where(i => i.Id == imageId).Select(i => (Guid?)i.VehicleId).SingleOrDefaultAsync(cancellationToken);
        if (vehicleId is not { } vehicle)
            return StackChange.NotFound;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicle, cancellationToken);
        var row = await db.ImageStackMembers.SingleOrDefaultAsync(m => m.ImageId == imageId, cancellationToken);
        if (row is null)
            db.ImageStackMembers.Add(row = new ImageStackMember { ImageId = imageId });
        if (row.StackId is { } stackId)
            await db.ImageStacks.Where(s => s.Id == stackId && s.PickedImageId == imageId)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.PickedImageId, (Guid?)null), cancellationToken);
        row.StackId = null;
        row.StandsAlone = true;
        row.UpdatedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
        await StackedAnalysis.AnalyseBestAsync(db, vehicle, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Announce(vehicle);
        return StackChange.Done;
    }

    /// <summary>
    /// A person merges photos of one vehicle (and the stacks they are in) into one stack; split photos among them rejoin.
    /// Null stack when the photos are not two or more of one vehicle of the caller's (<paramref name="problem"/> says why).
    /// </summary>
    public async Task<(StackChange Outcome, Guid? StackId, string? Problem)> MergeAsync(Caller caller, IReadOnlyList<Guid> imageIds, CancellationToken cancellationToken)
    {
        var ids = imageIds.Distinct().ToList();
        if (ids.Count < 2)
            return (StackChange.Invalid, null, "name two or more photos to merge");
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var found = await db.VehicleImages.VisibleTo(caller).Where(i => ids.Contains(i.Id)).Select(i => new { i.Id, i.VehicleId }).ToListAsync(cancellationToken);
        var unknown = ids.Except(found.Select(f => f.Id)).ToList();
        if (unknown.Count > 0)
            return (StackChange.Invalid, null, "not photos of yours: " + string.Join(", ", unknown));
        if (found.Select(f => f.VehicleId).Distinct().Count() != 1)
            return (StackChange.Invalid, null, "the photos must all be of one vehicle");
        var vehicle = found[0].VehicleId;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicle, cancellationToken);
        var members = await db.ImageStackMembers.Where(m => ids.Contains(m.ImageId)).ToListAsync(cancellationToken);
        var (target, moving) = await JoinAsync(db, vehicle,
            [.. members.Where(m => m.StackId is not null).Select(m => m.StackId!.Value).Distinct().OrderBy(s => s)], cancellationToken);
        foreach (var id in ids)
            await Upsert(db, id, target);
        await db.SaveChangesAsync(cancellationToken);
        await db.ImageStacks.Where(s => moving.Contains(s.Id)).ExecuteDeleteAsync(cancellationToken);
        await StackedAnalysis.AnalyseBestAsync(db, vehicle, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Announce(vehicle);
        return (StackChange.Done, target, null);
    }

    /// <summary>A person picks a photo as its stack's best.</summary>
    public async Task<StackChange> PickBestAsync(Caller caller, Guid imageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicleId = await db.VehicleImages.VisibleTo(caller).Where(i => i.Id == imageId).Select(i => (Guid?)i.VehicleId).SingleOrDefaultAsync(cancellationToken);
        if (vehicleId is not { } vehicle)
            return StackChange.NotFound;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockVehicleAsync(db, vehicle, cancellationToken);
        var info = (await DescribeVehicleAsync(db, vehicle, cancellationToken)).GetValueOrDefault(imageId);
        if (info?.StackId is not { } stackId)
            return StackChange.NotStacked;
        await db.ImageStacks.Where(s => s.Id == stackId).ExecuteUpdateAsync(s => s.SetProperty(x => x.PickedImageId, imageId), cancellationToken);
        // A best that only inherited its category and angle is analysed now (Analysis:AnalyzeStackedPhotos off).
        await StackedAnalysis.AnalyseBestAsync(db, vehicle, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Announce(vehicle);
        return StackChange.Done;
    }
}
