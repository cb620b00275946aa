using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Quotas;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Uploads;

public sealed record NewUpload(Guid VehicleId, string FileName, string? FileType, long Length);

/// <summary>Why a creation was refused: the stored-bytes quota (413) or too many unfinished uploads (403).</summary>
public enum CreationRefusal
{
    None,
    OverQuota,
    TooManyUnfinished,
}

/// <summary>A new upload, or why there is none (with the reason for its owner).</summary>
public sealed record UploadCreation(ResumableUpload? Upload, CreationRefusal Refusal = CreationRefusal.None, string? Reason = null);

/// <summary>What one PATCH did: the offset now durable, or why nothing was kept.</summary>
public enum ChunkStatus
{
    Accepted,
    NotFound,
    Expired,
    OffsetMismatch,
    ChecksumMismatch,
    BeyondLength,
    Busy,
}

public sealed record ChunkResult(ChunkStatus Status, long Offset, string? Reason = null);

/// <summary>
/// The tus upload's life in the database and the bytes' store; the protocol's headers are the web
/// layer's. Every state change is a conditional UPDATE on the upload's row, so several instances (or
/// a client that retries its final PATCH) agree: the offset moves only from the value the writer saw,
/// and exactly one caller moves a complete upload to "finishing" and runs the ingest.
/// </summary>
public sealed class ResumableUploadService(
    IDbContextFactory<VehicleImagesDbContext> contexts,
    IUploadBytes bytes,
    IImageStore store,
    ImageIngestService ingest,
    QuotaService quotas,
    IOptions<UploadOptions> options,
    TimeProvider time,
    ILogger<ResumableUploadService> logger)
{
    /// <summary>A claim whose ingest has not finished after this (its instance died) may be taken over.</summary>
    public static readonly TimeSpan StaleClaim = TimeSpan.FromMinutes(5);

    private TimeSpan Expiry => TimeSpan.FromHours(options.Value.ResumableExpiryHours);

    /// <summary>
    /// Creates an upload: its Upload-Length is reserved against the stored-bytes quota until it ends or
    /// expires, and an account holds at most Upload:MaxUnfinishedPerUser unfinished ones. Both are decided
    /// under the account's quota lock in the transaction that inserts the row, so simultaneous creations
    /// (on any instance) see each other.
    /// </summary>
    public async Task<UploadCreation> CreateAsync(Guid userId, NewUpload request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var upload = new ResumableUpload
        {
            Id = Guid.CreateVersion7(),
            UserId = userId,
            VehicleId = request.VehicleId,
            FileName = request.FileName,
            FileType = request.FileType,
            Length = request.Length,
            Offset = 0,
            State = UploadState.Uploading,
            CreatedAt = now,
            ExpiresAt = now + Expiry,
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await AdvisoryLocks.LockQuotaAsync(db, userId, cancellationToken);
        var most = options.Value.MaxUnfinishedPerUser;
        var unfinished = await db.ResumableUploads.CountAsync(u => u.UserId == userId && u.State == UploadState.Uploading && u.ExpiresAt > now, cancellationToken);
        if (unfinished >= most)
            return new UploadCreation(null, CreationRefusal.TooManyUnfinished,
                $"You have {unfinished} unfinished uploads, the most one account may hold ({most}). Finish or cancel some of them, " +
                $"or wait until they expire ({options.Value.ResumableExpiryHours} h after their last chunk), then start this one again.");
        if (await quotas.ReserveUploadAsync(db, userId, request.Length, cancellationToken) is { } overQuota)
            return new UploadCreation(null, CreationRefusal.OverQuota, char.ToUpperInvariant(overQuota[0]) + overQuota[1..]);
        db.ResumableUploads.Add(upload);
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new UploadCreation(upload);
    }

    /// <summary>The caller's own upload, or null (another's is as absent as a missing one).</summary>
    public async Task<ResumableUpload?> FindAsync(Guid userId, Guid id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ResumableUploads.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id && u.UserId == userId, cancellationToken);
    }

    /// <summary>Every byte is here but no outcome (the finishing request failed, or its instance died): a GET finishes it.</summary>
    public bool AwaitsCompletion(ResumableUpload upload) =>
        upload.Offset == upload.Length
        && (upload.State == UploadState.Uploading || upload.State == UploadState.Finishing && upload.FinishingSince < time.GetUtcNow() - StaleClaim);

    public bool IsExpired(ResumableUpload upload) => upload.State == UploadState.Uploading && upload.ExpiresAt <= time.GetUtcNow();

    /// <summary>
    /// Appends one chunk at <paramref name="offset"/>. The bytes are written (and flushed) first, then
    /// the row's offset moves from <paramref name="offset"/>, so a HEAD never reports bytes that a crash
    /// could lose. A chunk that fails its checksum or passes Upload-Length is cut off again.
    /// A connection lost mid-chunk keeps what arrived (unless a checksum was asked for, which it cannot pass).
    /// </summary>
    public async Task<ChunkResult> AppendAsync(Guid userId, Guid id, long offset, Stream body, ChunkChecksum? checksum, CancellationToken cancellationToken)
    {
        var upload = await FindAsync(userId, id, cancellationToken);
        if (upload is null)
            return new ChunkResult(ChunkStatus.NotFound, 0);
        if (IsExpired(upload))
            return new ChunkResult(ChunkStatus.Expired, upload.Offset);
        // A retried final PATCH after the server finished the file: the same answer again, nothing written.
        if (upload.State != UploadState.Uploading && offset == upload.Length && upload.Offset == upload.Length)
            return new ChunkResult(ChunkStatus.Accepted, upload.Length);
        if (upload.Offset != offset || upload.State != UploadState.Uploading)
            return new ChunkResult(ChunkStatus.OffsetMismatch, upload.Offset,
                $"Upload-Offset {offset} does not match the {upload.Offset} bytes received; ask HEAD and resume from there.");

        var room = upload.Length - offset;
        using var hash = checksum is null ? null : IncrementalHash.CreateHash(checksum.Algorithm);
        var guarded = new ChunkStream(body, room, hash);
        var mismatch = false;
        var write = new UploadWrite(upload, contexts, () =>
        {
            if (guarded.Overflowed)
                return false;
            mismatch = hash is not null && (guarded.Interrupted || !CryptographicOperations.FixedTimeEquals(hash.GetHashAndReset(), checksum!.Expected));
            return !mismatch;
        }, time.GetUtcNow() + Expiry);
        ChunkWrite wrote;
        try
        {
            wrote = await bytes.WriteAsync(write, guarded, CancellationToken.None);
        }
        catch (UploadBusyException e)
        {
            logger.LogDebug(e, "Upload {Id} is being written by another request", id);
            return new ChunkResult(ChunkStatus.Busy, upload.Offset, "Another request is writing this upload; ask HEAD and resume.");
        }

        if (wrote.Outcome == ChunkWriteOutcome.Moved)
            return new ChunkResult(ChunkStatus.OffsetMismatch, (await FindAsync(userId, id, CancellationToken.None))?.Offset ?? offset,
                "Another request moved this upload on; ask HEAD and resume from there.");
        if (wrote.Outcome == ChunkWriteOutcome.Discarded)
            return guarded.Overflowed
                ? new ChunkResult(ChunkStatus.BeyondLength, offset, $"The chunk goes beyond Upload-Length ({upload.Length} bytes); nothing of it was kept.")
                : new ChunkResult(ChunkStatus.ChecksumMismatch, offset,
                    guarded.Interrupted ? "The chunk ended early; it was discarded." : "The chunk's checksum does not match its bytes; it was discarded.");

        var newOffset = offset + wrote.Written;
        if (newOffset == upload.Length)
        {
            try
            {
                await CompleteAsync(id, CancellationToken.None);
            }
            catch (StoreUnavailableException)
            {
                // Every byte is kept and counted (CompleteAsync logged why it could not finish): the
                // chunk is accepted, and a GET of the upload (AwaitsCompletion) finishes it later.
            }
        }
        return new ChunkResult(ChunkStatus.Accepted, newOffset);
    }

    /// <summary>
    /// Hands a complete upload to the multipart path's ingest, once: only the caller whose conditional
    /// UPDATE moves the row to "finishing" runs it (or one that takes over a claim gone stale); the
    /// others return and read the outcome later. Returns the upload as it stands afterwards.
    /// </summary>
    public async Task<ResumableUpload?> CompleteAsync(Guid id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stale = now - StaleClaim;
        ResumableUpload? upload;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var claimed = await db.ResumableUploads
                .Where(u => u.Id == id && u.Offset == u.Length
                            && (u.State == UploadState.Uploading || (u.State == UploadState.Finishing && u.FinishingSince < stale)))
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.State, UploadState.Finishing).SetProperty(u => u.FinishingSince, now), cancellationToken);
            upload = await db.ResumableUploads.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id, cancellationToken);
            if (claimed == 0 || upload is null)
                return upload;
        }

        IngestResult result;
        try
        {
            result = await IngestAsync(upload, cancellationToken);
        }
        catch (Exception e)
        {
            // Give the claim back: the bytes are still here, and the next PATCH, GET or sweep finishes it.
            logger.LogError(e, "Finishing upload {Id} failed; it stays complete and is finished again later", id);
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            await db.ResumableUploads.Where(u => u.Id == id && u.State == UploadState.Finishing && u.FinishingSince == now)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.State, UploadState.Uploading).SetProperty(u => u.FinishingSince, (DateTimeOffset?)null), CancellationToken.None);
            throw;
        }

        await using (var db = await contexts.CreateDbContextAsync(CancellationToken.None))
        {
            await db.ResumableUploads.Where(u => u.Id == id && u.State == UploadState.Finishing)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.State, result.Outcome)
                    .SetProperty(u => u.ImageId, result.ImageId)
                    .SetProperty(u => u.Error, result.Error)
                    .SetProperty(u => u.CompletedAt, time.GetUtcNow())
                    // The outcome stays readable as long as an unfinished upload would have.
                    .SetProperty(u => u.ExpiresAt, time.GetUtcNow() + Expiry), CancellationToken.None);
            upload = await db.ResumableUploads.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id, CancellationToken.None);
        }

        if (upload is not null)
            await bytes.DeleteAsync(upload, CancellationToken.None);
        return upload;
    }

    /// <summary>Copies the bytes into the image store's temporary folder while hashing them, then runs the same ingest as the multipart path.</summary>
    private async Task<IngestResult> IngestAsync(ResumableUpload upload, CancellationToken cancellationToken)
    {
        var temp = store.CreateTempPath();
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            await using (var source = await bytes.OpenReadAsync(upload, cancellationToken))
            {
                if (source is null)
                    return IngestResult.Rejected(upload.FileName, "the upload's bytes are gone; send the file again.");
                await using var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, useAsync: true);
                var buffer = new byte[128 * 1024];
                int read;
                while (length < upload.Length && (read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, upload.Length - length)), cancellationToken)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    length += read;
                }
            }

            if (length != upload.Length)
                return IngestResult.Rejected(upload.FileName, $"only {length} of {upload.Length} bytes are stored; send the file again.");
            return await ingest.IngestAsync(upload.UserId, upload.VehicleId,
                new UploadedFile(upload.FileName, temp, length, Convert.ToHexStringLower(sha.GetHashAndReset())), cancellationToken);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Which of these SHA-256 hashes the vehicle already has a photo for (the pre-check before a byte is sent).</summary>
    public async Task<IReadOnlyList<(string Sha256, Guid ImageId)>> ExistingAsync(Guid vehicleId, IReadOnlyCollection<string> sha256, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var found = await db.VehicleImages.AsNoTracking()
            .Where(i => i.VehicleId == vehicleId && i.Sha256 != null && sha256.Contains(i.Sha256))
            .Select(i => new { i.Sha256, i.Id }).ToListAsync(cancellationToken);
        return found.Select(f => (f.Sha256!, f.Id)).ToList();
    }

    /// <summary>Termination: the row and its bytes go. False when the caller has no such upload.</summary>
    public async Task<bool> TerminateAsync(Guid userId, Guid id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // What the bytes' store needs to remove them (its multipart upload and parts) is read before the row goes.
        var upload = await db.ResumableUploads.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id && u.UserId == userId, cancellationToken);
        if (upload is null)
            return false;
        // A finishing upload is the ingest's until it ends; its row goes, and the ingest's last UPDATE then finds nothing.
        var deleted = await db.ResumableUploads.Where(u => u.Id == id && u.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
            return false;
        // The row's last state: a chunk committed between the read and the delete may have added a part.
        try
        {
            await bytes.DeleteAsync(upload, CancellationToken.None);
        }
        catch (StoreUnavailableException e)
        {
            // The upload is gone (its row, its reservation); the sweep removes bytes no row names once the store is back.
            logger.LogWarning("Upload {Id} terminated; its bytes are left for the sweep: {Reason}", id, e.Message);
        }

        return true;
    }

    /// <summary>Removes uploads (unfinished or finished) whose time is up, and their bytes; for the sweep chore.</summary>
    public async Task<int> SweepExpiredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stale = now - StaleClaim;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var swept = 0;
        while (true)
        {
            // A running ingest keeps its row until it is stale; everything else past its time goes.
            var expired = await db.ResumableUploads.AsNoTracking()
                .Where(u => u.ExpiresAt <= now && (u.State != UploadState.Finishing || u.FinishingSince < stale))
                .OrderBy(u => u.ExpiresAt).Take(500).ToDictionaryAsync(u => u.Id, cancellationToken);
            var ids = expired.Keys.ToList();
            if (ids.Count == 0)
                return swept + await SweepUnnamedBytesAsync(db, now, cancellationToken);
            // Re-checked in the DELETE itself: a chunk that arrived meanwhile moved the expiry on, and its bytes stay.
            var deleted = await db.Database.SqlQuery<Guid>($"""
                DELETE FROM resumable_uploads WHERE id = ANY({ids.ToArray()}) AND expires_at <= {now}
                  AND (state <> {UploadState.Finishing} OR finishing_since < {stale})
                RETURNING id AS "Value"
                """).ToListAsync(cancellationToken);
            foreach (var id in deleted)
                await bytes.DeleteAsync(expired[id], cancellationToken);
            swept += deleted.Count;
            if (ids.Count < 500)
                return swept + await SweepUnnamedBytesAsync(db, now, cancellationToken);
        }
    }

    /// <summary>Bytes whose row is gone (its vehicle or account was deleted), untouched for longer than an upload may wait.</summary>
    private async Task<int> SweepUnnamedBytesAsync(VehicleImagesDbContext db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var old = new List<Guid>();
        await foreach (var (id, modified) in bytes.ListAsync(cancellationToken))
            if (modified <= now - Expiry)
                old.Add(id);
        var removed = 0;
        foreach (var batch in old.Chunk(500))
        {
            var named = await db.ResumableUploads.Where(u => batch.Contains(u.Id)).Select(u => u.Id).ToListAsync(cancellationToken);
            foreach (var id in batch.Except(named))
            {
                await bytes.DeleteAsync(new ResumableUpload { Id = id, FileName = "", State = "" }, cancellationToken);
                removed++;
            }
        }

        return removed;
    }
}

/// <summary>An Upload-Checksum header: the algorithm and the digest the chunk must have.</summary>
public sealed record ChunkChecksum(HashAlgorithmName Algorithm, byte[] Expected)
{
    public static readonly IReadOnlyDictionary<string, HashAlgorithmName> Algorithms = new Dictionary<string, HashAlgorithmName>(StringComparer.OrdinalIgnoreCase)
    {
        ["sha1"] = HashAlgorithmName.SHA1,
        ["sha256"] = HashAlgorithmName.SHA256,
        ["md5"] = HashAlgorithmName.MD5,
    };
}

/// <summary>
/// The request body as the store reads it: stops at the room left before Upload-Length (noting an
/// overflow when more comes), feeds the checksum, and turns a lost connection into an early end,
/// so the bytes that did arrive can be kept.
/// </summary>
internal sealed class ChunkStream(Stream inner, long room, IncrementalHash? hash) : Stream
{
    private long _read;

    public bool Overflowed { get; private set; }
    public bool Interrupted { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Overflowed)
            return 0;
        int n;
        try
        {
            // One byte more than the room, to see whether the client sends too much.
            var want = (int)Math.Min(buffer.Length, room - _read + 1);
            n = await inner.ReadAsync(buffer[..want], cancellationToken);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            Interrupted = true;
            return 0;
        }

        if (_read + n > room)
        {
            Overflowed = true;
            return 0;
        }

        _read += n;
        hash?.AppendData(buffer.Span[..n]);
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
