namespace VehicleImages.Core.Uploads;

/// <summary>
/// Where the bytes of unfinished uploads live: the local disk (<see cref="FileSystemUploadBytes"/>) or
/// an S3 multipart upload (<see cref="S3UploadBytes"/>). The offset in the database, not anything
/// here, says how many bytes count; a store moves it only through <see cref="UploadWrite.CommitAsync"/>,
/// after the bytes it counts are durable.
/// </summary>
public interface IUploadBytes
{
    /// <summary>
    /// Stores <paramref name="chunk"/> at <see cref="UploadWrite.Offset"/> until it ends, replacing
    /// anything at or after that offset. Asks <see cref="UploadWrite.Keep"/> once the body has ended
    /// (false: nothing of it is kept) and commits the new offset through <paramref name="write"/>.
    /// Throws <see cref="UploadBusyException"/> when another request is writing this upload.
    /// </summary>
    Task<ChunkWrite> WriteAsync(UploadWrite write, Stream chunk, CancellationToken cancellationToken);

    /// <summary>A complete upload's bytes from the start, or null when there are none.</summary>
    Task<Stream?> OpenReadAsync(ResumableUpload upload, CancellationToken cancellationToken);

    /// <summary>Removes every byte the upload has here (its row may be gone already; pass it as it was).</summary>
    Task DeleteAsync(ResumableUpload upload, CancellationToken cancellationToken);

    /// <summary>Every upload that has bytes here, with when they were last written (for the sweep of bytes no row names).</summary>
    IAsyncEnumerable<(Guid Id, DateTimeOffset Modified)> ListAsync(CancellationToken cancellationToken);
}

public enum ChunkWriteOutcome
{
    /// <summary>The bytes are durable and the row's offset moved past them.</summary>
    Committed,

    /// <summary>Another request moved the upload on first; nothing of this chunk counts.</summary>
    Moved,

    /// <summary><see cref="UploadWrite.Keep"/> said no (checksum, Upload-Length); nothing of this chunk was kept.</summary>
    Discarded,
}

public sealed record ChunkWrite(ChunkWriteOutcome Outcome, long Written = 0);

/// <summary>Another request holds this upload's bytes for writing; the client asks HEAD and resumes.</summary>
public sealed class UploadBusyException(string message, Exception? inner = null) : IOException(message, inner);
