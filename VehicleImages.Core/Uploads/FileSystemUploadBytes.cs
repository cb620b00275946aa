using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Uploads;

/// <summary>
/// Bytes of unfinished uploads in <c>uploads/{id}.part</c> under Storage:Root (not in the store's
/// tmp/, whose sweep knows nothing of tus and would remove a paused upload).
/// </summary>
public sealed class FileSystemUploadBytes : IUploadBytes
{
    private readonly string _folder;

    public FileSystemUploadBytes(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        _folder = Path.Combine(Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.Root)), "uploads");
        Directory.CreateDirectory(_folder);
    }

    private string PathFor(Guid id) => Path.Combine(_folder, $"{id:N}.part");

    public async Task<long?> WriteAsync(Guid id, long offset, Stream chunk, Func<Task<bool>> stillAtOffset, CancellationToken cancellationToken)
    {
        // FileShare.None takes an exclusive lock (flock on Unix, so also against other processes on this
        // machine): a second request for the same upload fails at once and answers 409. Only the first
        // chunk may create the file; later ones find it (a finished upload's bytes are gone: 409 too).
        await using var file = new FileStream(PathFor(id), offset == 0 ? FileMode.OpenOrCreate : FileMode.Open,
            FileAccess.Write, FileShare.None, 1, useAsync: true);
        if (!await stillAtOffset())
            return null;
        if (file.Length < offset)
            throw new IOException($"Upload {id} has {file.Length} bytes stored, fewer than its offset {offset}.");
        file.SetLength(offset);
        file.Position = offset;
        var buffer = new byte[128 * 1024];
        long written = 0;
        int read;
        while ((read = await chunk.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            written += read;
        }

        // The offset a HEAD reports must survive a crash: on disk before the row says so.
        file.Flush(flushToDisk: true);
        return written;
    }

    public Task TruncateAsync(Guid id, long length, CancellationToken cancellationToken)
    {
        using var file = new FileStream(PathFor(id), FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
        if (file.Length > length)
            file.SetLength(length);
        file.Flush(flushToDisk: true);
        return Task.CompletedTask;
    }

    public async Task<Stream?> OpenReadAsync(Guid id, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return new FileStream(PathFor(id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 128 * 1024, useAsync: true);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
            catch (IOException) when (attempt < 50)
            {
                // A late duplicate of the final chunk holds the lock while it sees it has lost; it lets go at once.
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    public void Delete(Guid id) => File.Delete(PathFor(id));

    public IEnumerable<(Guid Id, DateTimeOffset Modified)> List()
    {
        foreach (var file in new DirectoryInfo(_folder).EnumerateFiles("*.part"))
            if (Guid.TryParseExact(Path.GetFileNameWithoutExtension(file.Name), "N", out var id))
                yield return (id, file.LastWriteTimeUtc);
    }
}
