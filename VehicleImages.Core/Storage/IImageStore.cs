namespace VehicleImages.Core.Storage;

/// <summary>
/// Where originals and variants live: a folder (<see cref="FileSystemImageStore"/>) or an S3 bucket
/// (<see cref="S3ImageStore"/>). Keys are chosen by the server (content-addressed by the original's
/// SHA-256), never by a client; several app instances may share one store. Temporary files (uploads
/// being received and decoded) are always local to the instance.
/// </summary>
public interface IImageStore
{
    /// <summary>What the health check and the logs call this store ("file system", "S3 bucket 'photos' at …").</summary>
    string Description { get; }

    /// <summary>A new local temporary file; <see cref="PutFileAsync"/> moves it into the store.</summary>
    string CreateTempPath();

    /// <summary>
    /// Stores <paramref name="sourcePath"/> as <paramref name="key"/> atomically (a reader sees all of it or
    /// nothing) and removes the source. Keys are content-addressed, so an existing object has the same bytes.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The store cannot be reached or answers with a server error.</exception>
    Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="key"/> atomically.</summary>
    /// <exception cref="StoreUnavailableException">The store cannot be reached or answers with a server error.</exception>
    Task PutBytesAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default);

    /// <summary>
    /// The object's bytes as a seekable stream of known length (so HTTP range requests can be served
    /// from it), or null when there is no such object.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The store cannot be reached or answers with a server error.</exception>
    Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Removes the object; no error when it is already gone.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every stored object (not temporary files) with its last write time, for the orphan sweep.</summary>
    IAsyncEnumerable<(string Key, DateTimeOffset Modified)> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Temporary files (unfinished uploads) last written before <paramref name="before"/> are removed.</summary>
    int DeleteTemporaryFilesOlderThan(DateTimeOffset before);

    /// <summary>Prepares the store at start-up (creates the folder or the bucket); throws <see cref="StoreUnavailableException"/> when it cannot be reached.</summary>
    Task EnsureReadyAsync(CancellationToken cancellationToken = default);

    /// <summary>One cheap round trip, for /health: throws <see cref="StoreUnavailableException"/> when the store does not answer.</summary>
    Task CheckAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The object store is down or unreachable: an answer, not a bug. Uploads answer 503 with
/// <see cref="Exception.Message"/>; analysis waits without spending an attempt; /health names it.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Local temporary files under Storage:Root/tmp, shared by both stores.</summary>
public sealed class TemporaryFiles
{
    public TemporaryFiles(string root)
    {
        Folder = Path.Combine(root, "tmp");
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string Create() => Path.Combine(Folder, $"{Guid.NewGuid():N}.part");

    public int DeleteOlderThan(DateTimeOffset before)
    {
        var deleted = 0;
        foreach (var file in new DirectoryInfo(Folder).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc >= before.UtcDateTime)
                continue;
            try
            {
                file.Delete();
                deleted++;
            }
            catch (IOException)
            {
                // Another instance removed it first.
            }
        }

        return deleted;
    }
}

/// <summary>Storage keys, all derived from the original's SHA-256.</summary>
public static class StorageKeys
{
    public static string Original(string sha256, string extension) => $"originals/{sha256[..2]}/{sha256}{extension}";

    public static string Variant(string sha256, string variant) => $"variants/{sha256[..2]}/{sha256}/{variant}.jpg";

    /// <summary>Keys are ours ("originals/ab/abcdef….jpg"); anything else is a bug, not a path to follow.</summary>
    public static string Checked(string key)
    {
        if (key.Length == 0 || key.Contains("..") || key.StartsWith('/') || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_')))
            throw new ArgumentException($"Invalid storage key '{key}'.", nameof(key));
        return key;
    }
}
