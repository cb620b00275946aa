namespace VehicleImages.Core.Storage;

/// <summary>
/// Where originals and variants live. Keys are chosen by the server (content-addressed by the
/// original's SHA-256), never by a client; several app instances may share one store.
/// </summary>
public interface IImageStore
{
    /// <summary>A new temporary file inside the store, so that <see cref="PutFileAsync"/> can be a rename.</summary>
    string CreateTempPath();

    /// <summary>Moves <paramref name="sourcePath"/> to <paramref name="key"/> atomically; keeps an existing object with that key.</summary>
    Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="key"/> atomically; keeps an existing object with that key.</summary>
    Task PutBytesAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default);

    Stream? OpenRead(string key);

    void Delete(string key);

    /// <summary>Every stored object (not temporary files) with its last write time, for the orphan sweep.</summary>
    IEnumerable<(string Key, DateTimeOffset Modified)> List();

    /// <summary>Temporary files (unfinished uploads) last written before <paramref name="before"/> are removed.</summary>
    int DeleteTemporaryFilesOlderThan(DateTimeOffset before);
}
