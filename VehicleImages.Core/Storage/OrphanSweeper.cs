using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Storage;

public sealed record SweepResult(int TemporaryFiles, int OrphanFiles);

/// <summary>
/// Removes what a process that died mid-upload left behind: temporary files, and stored files
/// that no row refers to (written, then the process was killed before its transaction committed).
/// Safe on every instance at once: each content hash is re-checked under the same advisory lock
/// that ingest holds from writing the files to committing the row (<see cref="StoredFileCleaner"/>).
/// </summary>
public sealed class OrphanSweeper(
    IDbContextFactory<VehicleImagesDbContext> contexts, IImageStore store, StoredFileCleaner cleaner, TimeProvider time,
    ILogger<OrphanSweeper> logger)
{
    /// <summary>Files younger than this are left alone, whatever their state.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    public async Task<SweepResult> SweepAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow() - grace;
        var temporary = store.DeleteTemporaryFilesOlderThan(before);

        var listed = new List<(string Key, DateTimeOffset Modified)>();
        await foreach (var o in store.ListAsync(cancellationToken))
            listed.Add(o);
        var byHash = listed
            .Select(o => (o.Key, o.Modified, Sha: ShaOf(o.Key)))
            .Where(o => o.Sha is not null)
            .GroupBy(o => o.Sha!)
            .Where(g => g.All(o => o.Modified < before))
            .ToDictionary(g => g.Key, g => g.Select(o => o.Key).ToList());

        var orphans = 0;
        foreach (var batch in byHash.Keys.Chunk(500))
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var used = await db.VehicleImages.Where(i => i.Sha256 != null && batch.Contains(i.Sha256))
                .Select(i => i.Sha256!).Distinct().ToListAsync(cancellationToken);
            foreach (var sha in batch.Except(used))
                orphans += await cleaner.DeleteIfUnusedAsync(db, sha, byHash[sha], cancellationToken);
        }

        if (temporary + orphans > 0)
            logger.LogInformation("Storage sweep removed {Temporary} temporary and {Orphans} orphaned files", temporary, orphans);
        return new SweepResult(temporary, orphans);
    }

    /// <summary>The content hash a key was derived from (see <see cref="StorageKeys"/>), or null.</summary>
    internal static string? ShaOf(string key)
    {
        var parts = key.Split('/');
        var candidate = parts switch
        {
            ["originals", _, var file] => Path.GetFileNameWithoutExtension(file),
            ["variants", _, var sha, _] => sha,
            ["privacy", _, var sha, _, _] => sha, // blurred copies (Privacy.BlurredVariants)
            _ => null,
        };
        return candidate is { Length: 64 } && candidate.All(char.IsAsciiHexDigitLower) ? candidate : null;
    }
}
