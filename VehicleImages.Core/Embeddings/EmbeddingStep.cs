using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Data;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Embeddings;

/// <summary>
/// The local step that computes a photo's embedding, focus and exposure from its medium variant before tier 1, stores
/// them (image_embeddings) and places the photo among its vehicle's stacks. A photo already measured is only placed.
/// </summary>
public sealed class EmbeddingStep(IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, ImageEmbedder embedder,
    StackService stacks, SuggestionService suggestions) : ILocalStep
{
    public string Name => "embedding";

    public async Task RunAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        await MeasureAsync(request, cancellationToken);
        await stacks.PlaceAsync(request.ImageId, cancellationToken);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await db.VehicleImages.Where(i => i.Id == request.ImageId).Select(i => (Guid?)i.UserId).SingleOrDefaultAsync(cancellationToken) is { } owner)
            await suggestions.RefreshAsync(owner, [request.ImageId], cancellationToken);
    }

    /// <summary>Measures and stores the photo unless it was measured already; true when it measured.</summary>
    public async Task<bool> MeasureAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
            if (await db.ImageEmbeddings.AnyAsync(e => e.ImageId == request.ImageId, cancellationToken))
                return false;
        var (bytes, _) = await request.ReadVariantAsync(store, "medium", cancellationToken);
        var measures = await Task.Run(() => LocalMeasures.Measure(bytes, embedder), cancellationToken);
        await using var save = await contexts.CreateDbContextAsync(cancellationToken);
        // The photo may have been deleted meanwhile: then there is nothing to store (the insert finds no row to join).
        await save.Database.ExecuteSqlAsync($"""
            INSERT INTO image_embeddings (image_id, vector, focus, exposure, model)
            SELECT {request.ImageId}, {measures.Vector}, {measures.Focus}, {measures.Exposure}, {ImageEmbedder.ModelName}
            WHERE EXISTS (SELECT 1 FROM vehicle_images WHERE id = {request.ImageId})
            ON CONFLICT (image_id) DO NOTHING
            """, cancellationToken);
        return true;
    }
}
