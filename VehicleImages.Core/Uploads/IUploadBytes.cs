namespace VehicleImages.Core.Uploads;

/// <summary>
/// Where the bytes of unfinished uploads live, by upload id. A seam so that an object-store version
/// can follow the file-system one; the offset in the database, not the length here, says how many
/// bytes count (bytes beyond it are what a killed request left, and the next chunk overwrites them).
/// </summary>
public interface IUploadBytes
{
    /// <summary>
    /// Writes <paramref name="chunk"/> from <paramref name="offset"/> until it ends, replacing anything
    /// at or after that offset; the bytes are durable when this returns. Holds the upload's bytes for
    /// itself meanwhile (another writer gets an <see cref="IOException"/>), and asks
    /// <paramref name="stillAtOffset"/> once it holds them: false (another request moved the upload on)
    /// writes nothing and returns null. Otherwise returns how many bytes were written.
    /// </summary>
    Task<long?> WriteAsync(Guid id, long offset, Stream chunk, Func<Task<bool>> stillAtOffset, CancellationToken cancellationToken);

    /// <summary>Drops every byte at or after <paramref name="length"/> (a chunk that failed its checksum or its limit).</summary>
    Task TruncateAsync(Guid id, long length, CancellationToken cancellationToken);

    /// <summary>The upload's bytes from the start, or null when there are none.</summary>
    Task<Stream?> OpenReadAsync(Guid id, CancellationToken cancellationToken);

    void Delete(Guid id);

    /// <summary>Every upload that has bytes here, with when they were last written (for the sweep of bytes no row names).</summary>
    IEnumerable<(Guid Id, DateTimeOffset Modified)> List();
}
