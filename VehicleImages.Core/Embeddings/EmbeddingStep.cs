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
        // One visit for what the step needs to know of the photo: its vehicle, its owner, and its embedding when measured already.
        Placement? photo;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
            photo = await db.VehicleImages.Where(i => i.Id == request.ImageId)
                .Select(i => new Placement(i.VehicleId, i.UserId, db.ImageEmbeddings.Where(e => e.ImageId == i.Id).Select(e => e.Vector).FirstOrDefault()))
                .SingleOrDefaultAsync(cancellationToken);
        if (photo is null)
            return; // deleted meanwhile
        var vector = photo.Measured ?? await MeasureAsync(request, cancellationToken);
        await stacks.PlaceAsync(request.ImageId, photo.VehicleId, vector, cancellationToken);
        await suggestions.RefreshAsync(photo.UserId, [request.ImageId], cancellationToken);
    }

    private sealed record Placement(Guid VehicleId, Guid UserId, float[]? Measured);

    /// <summary>Measures the photo and stores its measures (a concurrent store of the same photo wins quietly); its embedding.</summary>
    private async Task<float[]> MeasureAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
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
        return measures.Vector;
    }
}
