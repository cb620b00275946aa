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

    public async Task<ChunkWrite> WriteAsync(UploadWrite write, Stream chunk, CancellationToken cancellationToken)
    {
        // FileShare.None takes an exclusive lock (flock on Unix, so also against other processes on this
        // machine): a second request for the same upload fails at once and answers 409. Only the first
        // chunk may create the file; later ones find it (a finished upload's bytes are gone: 409 too).
        var offset = write.Offset;
        FileStream file;
        try
        {
            file = new FileStream(PathFor(write.Id), offset == 0 ? FileMode.OpenOrCreate : FileMode.Open,
                FileAccess.Write, FileShare.None, 1, useAsync: true);
        }
        catch (IOException e)
        {
            throw new UploadBusyException("Another request is writing this upload; ask HEAD and resume.", e);
        }

        await using (file)
        {
            if (!await write.StillAtOffsetAsync(CancellationToken.None))
                return new ChunkWrite(ChunkWriteOutcome.Moved);
            if (file.Length < offset)
                throw new IOException($"Upload {write.Id} has {file.Length} bytes stored, fewer than its offset {offset}.");
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

            if (!write.Keep())
            {
                file.SetLength(offset);
                file.Flush(flushToDisk: true);
                return new ChunkWrite(ChunkWriteOutcome.Discarded);
            }

            // The offset a HEAD reports must survive a crash: on disk before the row says so, and
            // committed while this request still holds the file.
            file.Flush(flushToDisk: true);
            return await write.CommitAsync(written, null, CancellationToken.None)
                ? new ChunkWrite(ChunkWriteOutcome.Committed, written)
                : new ChunkWrite(ChunkWriteOutcome.Moved);
        }
    }

    public async Task<Stream?> OpenReadAsync(ResumableUpload upload, CancellationToken cancellationToken)
    {
        var id = upload.Id;
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

    public Task DeleteAsync(ResumableUpload upload, CancellationToken cancellationToken)
    {
        File.Delete(PathFor(upload.Id));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(Guid Id, DateTimeOffset Modified)> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var file in new DirectoryInfo(_folder).EnumerateFiles("*.part"))
            if (Guid.TryParseExact(Path.GetFileNameWithoutExtension(file.Name), "N", out var id))
                yield return (id, file.LastWriteTimeUtc);
    }
}
