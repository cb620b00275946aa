using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Uploads;

/// <summary>
/// One PATCH's dealings with its upload's row, handed by <see cref="ResumableUploadService"/> to the
/// byte store: whether the row is still at the chunk's offset, a hold on the upload across instances
/// while its bytes are written, and the conditional UPDATE that moves the offset once they are durable.
/// </summary>
public sealed class UploadWrite
{
    private readonly IDbContextFactory<VehicleImagesDbContext> _contexts;
    private readonly Func<bool> _keep;
    private readonly DateTimeOffset _expires;
    private bool? _kept;

    internal UploadWrite(ResumableUpload upload, IDbContextFactory<VehicleImagesDbContext> contexts, Func<bool> keep, DateTimeOffset expires)
    {
        Upload = upload;
        _contexts = contexts;
        _keep = keep;
        _expires = expires;
    }

    /// <summary>The row as this request read it: <see cref="ResumableUpload.Offset"/> is where the chunk starts.</summary>
    public ResumableUpload Upload { get; }

    public Guid Id => Upload.Id;

    public long Offset => Upload.Offset;

    /// <summary>Asked once the body has ended: true when it may be kept (within Upload-Length, its checksum matches).</summary>
    public bool Keep() => _kept ??= _keep();

    /// <summary>The row still stands at this chunk's offset, waiting for bytes.</summary>
    public async Task<bool> StillAtOffsetAsync(CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        return await db.ResumableUploads.AnyAsync(u => u.Id == Id && u.Offset == Offset && u.State == UploadState.Uploading, cancellationToken);
    }

    /// <summary>
    /// Holds this upload for one writer across every instance (a PostgreSQL advisory lock in a
    /// transaction of its own), or null when another request holds it. A killed process's hold ends
    /// with its connection, so a crash never leaves an upload locked.
    /// </summary>
    public async Task<IAsyncDisposable?> TryHoldAsync(CancellationToken cancellationToken)
    {
        var db = await _contexts.CreateDbContextAsync(cancellationToken);
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var held = await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_xact_lock(hashtextextended({"tus:" + Id.ToString("N")}, 42)) AS \"Value\"")
                .SingleAsync(cancellationToken);
            if (held)
                return new Hold(db, transaction);
            await transaction.DisposeAsync();
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }

        await db.DisposeAsync();
        return null;
    }

    /// <summary>Records the object store's multipart upload before any part goes into it (so that no crash leaves it unnamed).</summary>
    public async Task<bool> SaveStorageUploadIdAsync(string storageUploadId, CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        return await db.ResumableUploads.Where(u => u.Id == Id && u.StorageUploadId == null && u.State == UploadState.Uploading)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.StorageUploadId, storageUploadId), cancellationToken) == 1;
    }

    /// <summary>
    /// Moves the offset from <see cref="Offset"/> by <paramref name="written"/> (and records the store's
    /// parts when it has any); false when another request moved it first. Bytes also move the expiry on;
    /// an empty chunk renews nothing (else one empty PATCH a day would keep an upload, and its
    /// reservation, forever), and only says whether the row still stands where the chunk began.
    /// </summary>
    public async Task<bool> CommitAsync(long written, string? storageParts, CancellationToken cancellationToken)
    {
        if (written == 0 && storageParts is null)
            return await StillAtOffsetAsync(cancellationToken);
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        var newOffset = Offset + written;
        return await db.ResumableUploads
            .Where(u => u.Id == Id && u.Offset == Offset && u.State == UploadState.Uploading)
            .ExecuteUpdateAsync(s =>
            {
                s.SetProperty(u => u.Offset, newOffset).SetProperty(u => u.ExpiresAt, _expires);
                if (storageParts is not null)
                    s.SetProperty(u => u.StorageParts, storageParts);
            }, cancellationToken) == 1;
    }

    private sealed class Hold(VehicleImagesDbContext db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            // Rolling back ends the transaction and with it the lock.
            await transaction.DisposeAsync();
            await db.DisposeAsync();
        }
    }
}
