using System.Diagnostics;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class IngestFigure : IFigure
{
    public string Name => "ingest";
    public string Description => "24 × 12 MP JPEGs through the API, 2 at a time, against vipsthumbnail making the same sizes (≤ 1.25×); peak RSS ≤ 600 MiB, one 100 MP JPEG ≤ 400 MiB";
    public bool InAll => true;
    public Need Needs => Need.VipsThumbnail;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await IngestAndMemoryAsync(context.Admin, context.Work);

    public static async Task<List<Row>> IngestAndMemoryAsync(string admin, string work)
    {
        var files = MakeJpegs(Path.Combine(work, "12mp"), 24, 4000, 3000);

        // Reference: vipsthumbnail making the same three sizes, two files at a time.
        var outDir = Directory.CreateDirectory(Path.Combine(work, "vips-out")).FullName;
        var reference = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (file, ct) =>
        {
            foreach (var size in new[] { 2048, 1024, 320 })
            {
                using var p = Process.Start(new ProcessStartInfo("vipsthumbnail", [file, "-s", size.ToString(), "-o",
                    Path.Combine(outDir, $"%s_{size}.jpg[Q=82,strip]")]))!;
                await p.WaitForExitAsync(ct);
                if (p.ExitCode != 0)
                    throw new InvalidOperationException("vipsthumbnail failed");
            }
        });
        reference.Stop();

        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-ingest")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var bytes = files.Select(File.ReadAllBytes).ToList();
        var ingest = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bytes.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
        {
            var result = await Rig.UploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b);
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        });
        ingest.Stop();
        var peak = app.PeakRssBytes();

        // One 100-megapixel JPEG into a fresh process, so its peak is that upload's own.
        var big = MakeJpegs(Path.Combine(work, "100mp"), 1, 10000, 10000)[0];
        long bigPeak;
        await using (var fresh = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" }))
        {
            var (c2, _) = await Rig.UserAsync(fresh.BaseAddress, "bench2@example.test");
            var v2 = await Rig.VehicleAsync(c2);
            var result = await Rig.UploadAsync(c2, v2, "big.jpg", await File.ReadAllBytesAsync(big));
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("100 MP upload not created: " + result);
            bigPeak = fresh.PeakRssBytes();
        }

        var ratio = ingest.Elapsed / reference.Elapsed;
        return
        [
            new("ingest (24 × 12 MP, 2 at a time)", $"{ingest.Elapsed.TotalSeconds:0.00} s", $"vipsthumbnail {reference.Elapsed.TotalSeconds:0.00} s",
                $"{ratio:0.00}×", "≤ 1.25×", ratio <= 1.25),
            new("memory: peak RSS during that ingest", Mib(peak), "", Mib(peak), "≤ 600 MiB", peak <= 600L * 1024 * 1024),
            new("memory: peak RSS ingesting one 100 MP JPEG", Mib(bigPeak), "", Mib(bigPeak), "≤ 400 MiB", bigPeak <= 400L * 1024 * 1024),
        ];
    }
}
