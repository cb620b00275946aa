using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Storage;

/// <summary>
/// Files under Storage:Root. Every write goes to tmp/ first and is renamed into place, so a reader
/// (on any instance sharing the folder) sees a whole file or none. Objects are content-addressed,
/// so two instances writing the same key write the same bytes and the first rename wins.
/// </summary>
public sealed class FileSystemImageStore : IImageStore
{
    private readonly string _root;
    private readonly TemporaryFiles _tmp;

    public FileSystemImageStore(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        _root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.Root));
        _tmp = new TemporaryFiles(_root);
    }

    public string Description => "file system";

    public string CreateTempPath() => _tmp.Create();

    public Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken = default)
    {
        var target = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (File.Exists(target))
        {
            File.Delete(sourcePath);
            return Task.CompletedTask;
        }

        try
        {
            File.Move(sourcePath, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            // Another upload of the same bytes got there first: same content, nothing to do.
            File.Delete(sourcePath);
        }

        return Task.CompletedTask;
    }

    public async Task PutBytesAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        if (File.Exists(PathFor(key)))
            return;
        var temp = CreateTempPath();
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                await file.WriteAsync(bytes, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }

            await PutFileAsync(key, temp, cancellationToken);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            return Task.FromResult<Stream?>(new FileStream(PathFor(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            File.Delete(PathFor(key));
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone, folder and all: what a delete wants.
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(string Key, DateTimeOffset Modified)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var top in new[] { "originals", "variants" })
        {
            var folder = Path.Combine(_root, top);
            if (!Directory.Exists(folder))
                continue;
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return (Path.GetRelativePath(_root, file.FullName).Replace('\\', '/'), file.LastWriteTimeUtc);
            }
        }

        await Task.CompletedTask;
    }

    public int DeleteTemporaryFilesOlderThan(DateTimeOffset before) => _tmp.DeleteOlderThan(before);

    public Task EnsureReadyAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public Task CheckAsync(CancellationToken cancellationToken = default) =>
        Directory.Exists(_root) ? Task.CompletedTask : throw new StoreUnavailableException("the storage folder is missing");

    private string PathFor(string key) => Path.Combine(_root, StorageKeys.Checked(key));
}
