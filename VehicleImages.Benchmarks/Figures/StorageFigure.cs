using System.Diagnostics;
using VehicleImages.Benchmarks.Support;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class StorageFigure : IFigure
{
    public string Name => "storage";
    public string Description => "ingest to S3 (s3rver) against the file store (≤ 1.3×) and the file store against the libvips floor (≤ 1.2×), 24 × 12 MP, median of 3 rounds";
    public bool InAll => true;
    public Need Needs => Need.VipsThumbnail | Need.S3rver;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await StorageIngestAsync(context.Admin, context.Work);

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

        await using var s3 = await S3Server.StartAsync();
        var s3Settings = new Dictionary<string, string>
        {
            ["Processing__Workers"] = "0",
            ["Storage__Provider"] = "S3",
            ["Storage__S3__ServiceUrl"] = s3.ServiceUrl.ToString(),
            ["Storage__S3__Bucket"] = "bench-ingest",
            ["Storage__S3__AccessKey"] = "S3RVER",
            ["Storage__S3__SecretKey"] = "S3RVER",
        };
        // Alternating rounds, each on a fresh app and database; the median of each. Beside the time, the
        // CPU the app spent and, for S3, what s3rver spent in the same window (it shares the two cores).
        const int rounds = 3;
        var fileRuns = new List<IngestRun>();
        var s3Runs = new List<IngestRun>();
        for (var round = 0; round < rounds; round++)
        {
            fileRuns.Add(await IngestAsync(admin, work, bytes, new Dictionary<string, string> { ["Processing__Workers"] = "0" }));
            s3Runs.Add(await IngestAsync(admin, work, bytes, s3Settings, s3.Pid));
            Console.Error.WriteLine($"storage round {round + 1}: file store {fileRuns[^1]}; S3 {s3Runs[^1]}; load {Load()}");
        }

        IngestRun MedianOf(List<IngestRun> runs) => runs.OrderBy(r => r.Elapsed).ElementAt(runs.Count / 2);
        var (fileStore, s3Store) = (MedianOf(fileRuns), MedianOf(s3Runs));
        var s3Ratio = s3Store.Elapsed / fileStore.Elapsed;
        var floorRatio = fileStore.Elapsed / floor.Elapsed;
        return
        [
            new($"ingest to S3 (s3rver) vs file store (24 × 12 MP, 2 at a time; median of {rounds} alternating rounds)", $"{s3Store.Elapsed.TotalSeconds:0.00} s",
                $"file store {fileStore.Elapsed.TotalSeconds:0.00} s", $"{s3Ratio:0.00}×", "≤ 1.3×", s3Ratio <= 1.3),
            new("CPU in that ingest: app (S3) + s3rver vs app (file store)", $"app {s3Store.AppCpu.TotalSeconds:0.00} s + s3rver {s3Store.OtherCpu.TotalSeconds:0.00} s",
                $"app {fileStore.AppCpu.TotalSeconds:0.00} s", $"{(s3Store.AppCpu + s3Store.OtherCpu) / fileStore.AppCpu:0.00}× (app alone {s3Store.AppCpu / fileStore.AppCpu:0.00}×)",
                "(explains the time)", true),
            new("ingest (file store) vs libvips floor (one decode → 2048, then 1024 and 320 from it)", $"{fileStore.Elapsed.TotalSeconds:0.00} s",
                $"vipsthumbnail {floor.Elapsed.TotalSeconds:0.00} s", $"{floorRatio:0.00}×", "≤ 1.2×", floorRatio <= 1.2),
        ];
    }

    private sealed record IngestRun(TimeSpan Elapsed, TimeSpan AppCpu, TimeSpan OtherCpu)
    {
        public override string ToString() => $"{Elapsed.TotalSeconds:0.00} s, app CPU {AppCpu.TotalSeconds:0.00} s" +
            (OtherCpu > TimeSpan.Zero ? $", s3rver CPU {OtherCpu.TotalSeconds:0.00} s" : "");
    }

    private static async Task<IngestRun> IngestAsync(string admin, string work, List<byte[]> bytes, Dictionary<string, string> settings, int? otherPid = null)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, $"storage-{Guid.NewGuid():N}")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>(settings) { ["RateLimits__UploadsPerMinute"] = "0" });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        // One warm-up upload (JIT, connection pools, the bucket's first write), not counted.
        await Rig.UploadAsync(client, vehicle, "warm.jpg", bytes[0].Concat(new byte[] { 0 }).ToArray());
        var (app0, other0) = (CpuOf(app.Pid), otherPid is { } o0 ? CpuOf(o0) : TimeSpan.Zero);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bytes.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
        {
            var result = await Rig.UploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b);
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        });
        var elapsed = watch.Elapsed;
        return new(elapsed, CpuOf(app.Pid) - app0, otherPid is { } o1 ? CpuOf(o1) - other0 : TimeSpan.Zero);
    }

    private static async Task VipsThumbnailAsync(string file, int size, string output, CancellationToken ct)
    {
        using var p = Process.Start(new ProcessStartInfo("vipsthumbnail", [file, "-s", size.ToString(), "-o", output]))!;
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new InvalidOperationException("vipsthumbnail failed");
    }
}
