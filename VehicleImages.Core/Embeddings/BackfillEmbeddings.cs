using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Processing.Chores;

namespace VehicleImages.Core.Embeddings;

/// <summary>
/// Measures photos stored before the embedding step existed (or whose step failed): a few per round, oldest first,
/// each then placed among its vehicle's stacks. Safe on several instances at once (the insert ignores a photo measured meanwhile).
/// </summary>
public sealed class BackfillEmbeddings(IDbContextFactory<VehicleImagesDbContext> contexts, EmbeddingStep step,
    Microsoft.Extensions.Options.IOptions<EmbeddingOptions> options) : Processing.Chores.IChore
{
    public const int PerRound = 16;

    // Photos whose files could not be read, skipped for the life of this process so they do not hold up the others.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, byte> _unreadable = new();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
            return 0;
        List<(Guid Id, string FileName, string? Variants)> due;
        var skipped = _unreadable.Keys.ToList();
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var rows = await db.VehicleImages.AsNoTracking()
                .Where(i => i.Variants != null && i.ProcessingStatus != ProcessingStatus.Pending && i.ProcessingStatus != ProcessingStatus.Processing)
                .Where(i => !db.ImageEmbeddings.Any(e => e.ImageId == i.Id) && !skipped.Contains(i.Id))
                .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
                .Take(PerRound)
                .Select(i => new { i.Id, i.FileName, i.Variants })
                .ToListAsync(cancellationToken);
            due = [.. rows.Select(r => (r.Id, r.FileName, r.Variants))];
        }
        var done = 0;
        foreach (var (id, fileName, variants) in due)
        {
            try
            {
                await step.RunAsync(new AnalysisRequest(id, fileName, null, null, VariantSet.FromJson(variants), null), cancellationToken);
                done++;
            }
            catch (Exception e) when (e is AnalysisException or NetVips.VipsException)
            {
                // Its files are gone or unreadable: nothing to measure; it fails its own analysis for the same reason.
                _unreadable.TryAdd(id, 0);
            }
        }
        return done;
    }
}
