using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Storage;

/// <summary>
/// Deletes a content hash's stored files once no row refers to them any more (rows share
/// content-addressed files). The check and the deletion run under the content's advisory lock, the
/// one ingest holds from writing the files to committing its row, so a file an upload is about to
/// use is never deleted from under it.
/// </summary>
public sealed class StoredFileCleaner(IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store)
{
    /// <summary>After a photo's row is deleted, or its insert rolled back.</summary>
    public async Task DeleteIfUnusedAsync(string sha256, VariantSet variants, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await DeleteIfUnusedAsync(db, sha256, variants.All.Select(o => o.Key).ToList(), cancellationToken);
    }

    /// <summary>Deletes <paramref name="keys"/> unless a row uses <paramref name="sha256"/>; the number deleted.</summary>
    internal async Task<int> DeleteIfUnusedAsync(VehicleImagesDbContext db, string sha256, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockContentAsync(db, sha256, cancellationToken);
        if (await db.VehicleImages.AnyAsync(i => i.Sha256 == sha256, cancellationToken))
            return 0;
        foreach (var key in keys)
            await store.DeleteAsync(key, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return keys.Count;
    }
}
