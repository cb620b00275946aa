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
    private readonly string _tmp;

    public FileSystemImageStore(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        _root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.Root));
        _tmp = Path.Combine(_root, "tmp");
        Directory.CreateDirectory(_tmp);
    }

    public string CreateTempPath() => Path.Combine(_tmp, $"{Guid.NewGuid():N}.part");

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

    public Stream? OpenRead(string key)
    {
        try
        {
            return new FileStream(PathFor(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Delete(string key) => File.Delete(PathFor(key));

    public IEnumerable<(string Key, DateTimeOffset Modified)> List()
    {
        foreach (var top in new[] { "originals", "variants" })
        {
            var folder = Path.Combine(_root, top);
            if (!Directory.Exists(folder))
                continue;
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
                yield return (Path.GetRelativePath(_root, file.FullName).Replace('\\', '/'), file.LastWriteTimeUtc);
        }
    }

    public int DeleteTemporaryFilesOlderThan(DateTimeOffset before)
    {
        var deleted = 0;
        foreach (var file in new DirectoryInfo(_tmp).EnumerateFiles())
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

    /// <summary>Keys are ours ("originals/ab/abcdef….jpg"); anything else is a bug, not a path to follow.</summary>
    private string PathFor(string key)
    {
        if (key.Length == 0 || key.Contains("..") || Path.IsPathRooted(key) || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_')))
            throw new ArgumentException($"Invalid storage key '{key}'.", nameof(key));
        return Path.Combine(_root, key);
    }
}

/// <summary>Storage keys, all derived from the original's SHA-256.</summary>
public static class StorageKeys
{
    public static string Original(string sha256, string extension) => $"originals/{sha256[..2]}/{sha256}{extension}";

    public static string Variant(string sha256, string variant) => $"variants/{sha256[..2]}/{sha256}/{variant}.jpg";
}
