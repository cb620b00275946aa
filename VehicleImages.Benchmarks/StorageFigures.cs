using System.Diagnostics;

namespace VehicleImages.Benchmarks;

public static partial class Figures
{
    /// <summary>
    /// Ingest of 24 × 12 MP JPEGs (2 at a time) three ways in one run: to the file store, to an S3 bucket
    /// (s3rver on loopback), and libvips' own floor — one decode to 2048 px, then 1024 and 320 made from
    /// that (vipsthumbnail), which is the work ingest does with one decode.
    /// </summary>
    public static async Task<List<Row>> StorageIngestAsync(string admin, string work)
    {
        var files = MakeJpegs(Path.Combine(work, "12mp-s3"), 24, 4000, 3000);
        var bytes = files.Select(File.ReadAllBytes).ToList();

        var outDir = Directory.CreateDirectory(Path.Combine(work, "vips-floor")).FullName;
        var floor = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (file, ct) =>
        {
            var large = Path.Combine(outDir, Path.GetFileNameWithoutExtension(file) + "_2048.jpg");
            await VipsThumbnailAsync(file, 2048, Path.Combine(outDir, "%s_2048.jpg[Q=82,strip]"), ct);
            await VipsThumbnailAsync(large, 1024, Path.Combine(outDir, "%s_1024.jpg[Q=82,strip]"), ct);
            await VipsThumbnailAsync(large, 320, Path.Combine(outDir, "%s_320.jpg[Q=82,strip]"), ct);
        });
        floor.Stop();

        await using var s3 = await S3rver.StartAsync(work);
        var fileStore = await IngestAsync(admin, work, bytes, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var s3Store = await IngestAsync(admin, work, bytes, new Dictionary<string, string>
        {
            ["Processing__Workers"] = "0",
            ["Storage__Provider"] = "S3",
            ["Storage__S3__ServiceUrl"] = s3.ServiceUrl,
            ["Storage__S3__Bucket"] = "bench-ingest",
            ["Storage__S3__AccessKey"] = "S3RVER",
            ["Storage__S3__SecretKey"] = "S3RVER",
        });

        var s3Ratio = s3Store / fileStore;
        var floorRatio = fileStore / floor.Elapsed;
        return
        [
            new("ingest to S3 (s3rver) vs file store (24 × 12 MP, 2 at a time)", $"{s3Store.TotalSeconds:0.00} s", $"file store {fileStore.TotalSeconds:0.00} s",
                $"{s3Ratio:0.00}×", "≤ 1.3×", s3Ratio <= 1.3),
            new("ingest (file store) vs libvips floor (one decode → 2048, then 1024 and 320 from it)", $"{fileStore.TotalSeconds:0.00} s",
                $"vipsthumbnail {floor.Elapsed.TotalSeconds:0.00} s", $"{floorRatio:0.00}×", "≤ 1.2×", floorRatio <= 1.2),
        ];
    }

    private static async Task<TimeSpan> IngestAsync(string admin, string work, List<byte[]> bytes, Dictionary<string, string> settings)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, $"storage-{Guid.NewGuid():N}")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, settings);
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        // One warm-up upload (JIT, connection pools, the bucket's first write), not counted.
        await Rig.UploadAsync(client, vehicle, "warm.jpg", bytes[0].Concat(new byte[] { 0 }).ToArray());
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bytes.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
        {
            var result = await Rig.UploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b);
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        });
        return watch.Elapsed;
    }

    private static async Task VipsThumbnailAsync(string file, int size, string output, CancellationToken ct)
    {
        using var p = Process.Start(new ProcessStartInfo("vipsthumbnail", [file, "-s", size.ToString(), "-o", output]))!;
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new InvalidOperationException("vipsthumbnail failed");
    }

    /// <summary>s3rver (scripts/s3, installed by bench.sh with npm ci) on a free loopback port.</summary>
    private sealed class S3rver(Process process, string serviceUrl) : IAsyncDisposable
    {
        public string ServiceUrl { get; } = serviceUrl;

        public static async Task<S3rver> StartAsync(string work)
        {
            var port = Rig.FreePort();
            var data = Directory.CreateDirectory(Path.Combine(work, "s3rver")).FullName;
            var start = new ProcessStartInfo("node") { WorkingDirectory = Path.Combine(Rig.Root, "scripts", "s3"), RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--openssl-legacy-provider", "node_modules/s3rver/bin/s3rver.js", "-d", data, "-a", "127.0.0.1", "-p", port.ToString(), "--silent" })
                start.ArgumentList.Add(a);
            var process = Process.Start(start)!;
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            for (var i = 0; i < 300; i++)
            {
                try
                {
                    using var tcp = new System.Net.Sockets.TcpClient();
                    await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
                    return new S3rver(process, $"http://127.0.0.1:{port}");
                }
                catch (System.Net.Sockets.SocketException)
                {
                    if (process.HasExited)
                        throw new InvalidOperationException("s3rver exited at start-up (run npm ci in scripts/s3)");
                    await Task.Delay(100);
                }
            }

            throw new TimeoutException("s3rver did not start");
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
