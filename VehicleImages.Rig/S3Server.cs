using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VehicleImages.Rig;

/// <summary>
/// A real S3-compatible server on loopback: s3rver (npm, pinned in scripts/s3/package-lock.json),
/// installed with <c>npm ci</c> on first use. One shared server for the run (each test class makes
/// its own bucket), or a server of a test's own that it may stop and start again on the same port
/// and data folder (an outage in the middle of an upload).
/// </summary>
public sealed partial class S3Server : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private static readonly Lazy<Task<S3Server>> Shared = new(() => StartAsync());
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly string _dataDir;
    private Process? _process;

    private S3Server(string dataDir, int port)
    {
        _dataDir = dataDir;
        Port = port;
    }

    public int Port { get; private set; }

    public Uri ServiceUrl => new($"http://127.0.0.1:{Port}");

    /// <summary>The s3rver process (its CPU is read by the storage figure); 0 while stopped.</summary>
    public int Pid => _process?.Id ?? 0;

    /// <summary>
    /// The multipart uploads in progress in <paramref name="bucket"/>. s3rver 3.7.1 answers
    /// ListMultipartUploads (and ListParts) with NotImplemented; it keeps each upload in progress as a
    /// folder named by its upload id, so the folders are the list.
    /// </summary>
    public IReadOnlyList<string> MultipartUploadsInProgress(string bucket)
    {
        var folder = Path.Combine(_dataDir, bucket, "._S3rver_uploads");
        return Directory.Exists(folder) ? Directory.GetDirectories(folder).Select(d => Path.GetFileName(d)).ToList() : [];
    }

    /// <summary>The run's shared server.</summary>
    public static Task<S3Server> GetAsync() => Shared.Value;

    /// <summary>A server of the caller's own, on a free port.</summary>
    public static async Task<S3Server> StartAsync()
    {
        await InstallAsync();
        var server = new S3Server(Directory.CreateTempSubdirectory("vi-test-s3-").FullName, 0);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>A bucket name no other test uses (the app creates it at start-up).</summary>
    public static string NewBucket() => $"t-{Guid.NewGuid():N}";

    /// <summary>The app's settings for this server and <paramref name="bucket"/>.</summary>
    public Dictionary<string, string?> Settings(string bucket) => new()
    {
        ["Storage:Provider"] = "S3",
        ["Storage:S3:ServiceUrl"] = ServiceUrl.ToString(),
        ["Storage:S3:Bucket"] = bucket,
        ["Storage:S3:AccessKey"] = AccessKey,
        ["Storage:S3:SecretKey"] = SecretKey,
        ["Storage:S3:TimeoutSeconds"] = "10",
    };

    /// <summary>Stops the server (its data stays); connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again on the same port and data folder.</summary>
    public Task StartAgainAsync() => StartProcessAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { /* a leftover temporary folder does no harm */ }
    }

    public static async Task StopSharedAsync()
    {
        if (Shared.IsValueCreated && Shared.Value.IsCompletedSuccessfully)
            await (await Shared.Value).DisposeAsync();
    }

    private static string Folder => Path.Combine(RepoPaths.Root, "scripts", "s3");

    private static async Task InstallAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Folder, "node_modules", "s3rver", "bin", "s3rver.js")))
                return;
            var (code, output) = await RunAsync("npm", "ci", "--no-audit", "--no-fund");
            if (code != 0)
                throw new InvalidOperationException($"Installing the test S3 server failed (npm ci in scripts/s3 exited {code}): {output}. Node.js 20 and npm are needed.");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        // s3rver's continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider (without it a
        // truncated listing answers 500 ERR_OSSL_EVP_UNSUPPORTED under Node 17+).
        foreach (var a in new[] { "--openssl-legacy-provider", Path.Combine("node_modules", "s3rver", "bin", "s3rver.js"), "-d", _dataDir, "-a", "127.0.0.1", "-p", Port.ToString(), "--no-vhost-buckets" })
            start.ArgumentList.Add(a);
        for (var tries = 0; ; tries++)
        {
            var process = Process.Start(start)!;
            var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var errors = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line && Listening().Match(line) is { Success: true } m)
                    listening.TrySetResult(int.Parse(m.Groups[1].Value));
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (errors) errors.AppendLine(line); };
            process.EnableRaisingEvents = true;
            process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"s3rver exited: {errors}"));
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                Port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
                _process = process;
                return;
            }
            catch (InvalidOperationException) when (tries < 20 && Port != 0)
            {
                // Restarting on the same port right after a kill: the port may take a moment to be free.
                process.Dispose();
                await Task.Delay(250);
            }
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"listening on [^:\s]+:(\d+)")]
    private static partial Regex Listening();
}
