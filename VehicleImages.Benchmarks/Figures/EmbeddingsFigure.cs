using System.Diagnostics;
using VehicleImages.Benchmarks.Support;
using VehicleImages.Core.Embeddings;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// The cost of the local embedding step (issue 29): the ResNet18 run per photo on one core, and the throughput of ingest
/// plus analysis of 12 MP photos with the step against without it (<c>Embeddings__Enabled=false</c>), in the same run.
/// </summary>
internal sealed class EmbeddingsFigure : IFigure
{
    public string Name => "embeddings";
    public string Description => "ResNet18 per photo on one core (issue's untuned reference 56 ms); ingest + analysis of 12 × 12 MP with the local step against without (≥ 0.8×)";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        var rows = new List<Row>();

        // One model run (224×224, one intra-op thread) and the whole step's pixel work (decode the medium variant, focus,
        // exposure, embedding), each the median of 30 after 3 warm-ups, on one thread.
        var files = MakeJpegs(Path.Combine(context.Work, "12mp-embeddings"), 12, 4000, 3000);
        var medium = Files.Medium(files[0]);
        using var embedder = new ImageEmbedder();
        using var decoded = NetVips.Image.NewFromBuffer(medium);
        var pixels = ImageEmbedder.Pixels(decoded);
        var model = Timed(() => embedder.Embed(pixels));
        var step = Timed(() => LocalMeasures.Measure(medium, embedder));
        rows.Add(new("ResNet18 run per photo, one core (median of 30)", $"{model:0.0} ms", "issue's untuned figure 56 ms",
            $"{model / 56:0.00}×", "(reference)", true));
        rows.Add(new("the local step's pixel work per photo (decode 1024 px, focus, exposure, embedding)", $"{step:0.0} ms", $"model alone {model:0.0} ms",
            $"{step / model:0.00}×", "(explains the time)", true));

        // Ingest + analysis, Local analyzer, default workers: upload 12 photos 2 at a time, until the last is complete.
        var bytes = files.Select(File.ReadAllBytes).ToList();
        // Alternating rounds, each on a fresh app and database; the median of each.
        const int rounds = 3;
        var withRuns = new List<double>();
        var withoutRuns = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            withoutRuns.Add((await RunAsync(context, bytes, enabled: false)).TotalSeconds);
            withRuns.Add((await RunAsync(context, bytes, enabled: true)).TotalSeconds);
            Console.Error.WriteLine($"embeddings round {round + 1}: without {withoutRuns[^1]:0.00} s, with {withRuns[^1]:0.00} s; load {Load()}");
        }
        var (with, without) = (Median(withRuns), Median(withoutRuns));
        var ratio = without / with;
        rows.Add(new($"ingest + analysis of 12 × 12 MP, with the local step vs without (throughput; median of {rounds} alternating rounds)",
            $"{bytes.Count / with:0.00} photos/s", $"{bytes.Count / without:0.00} photos/s", $"{ratio:0.00}×", "≥ 0.8×", ratio >= 0.8));
        return rows;
    }

    private static double Timed(Action action)
    {
        for (var i = 0; i < 3; i++)
            action();
        var times = new List<double>();
        for (var i = 0; i < 30; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return Median(times);
    }

    private static async Task<TimeSpan> RunAsync(FigureContext context, List<byte[]> bytes, bool enabled)
    {
        var cs = await Rig.DatabaseAsync(context.Admin);
        var storage = Directory.CreateDirectory(Path.Combine(context.Work, $"storage-{Guid.NewGuid():N}")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Embeddings__Enabled"] = enabled ? "true" : "false",
            ["RateLimits__UploadsPerMinute"] = "0",
        });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        // A warm-up photo, analysed before the clock starts (JIT, pools, the model's first load).
        await Rig.UploadAsync(client, vehicle, "warm.jpg", bytes[0].Concat(new byte[] { 0 }).ToArray());
        await CompleteAsync(cs, 1);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bytes.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
            await Rig.UploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b));
        await CompleteAsync(cs, bytes.Count + 1);
        return watch.Elapsed;
    }

    private static async Task CompleteAsync(string cs, int count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (await Databases.ScalarAsync(cs, "SELECT count(*) FROM vehicle_images WHERE processing_status = 'complete'") < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the photos were not analysed within 5 minutes");
            await Task.Delay(50);
        }
    }

    private static class Files
    {
        /// <summary>The photo as its medium variant is stored: at most 1024 px, JPEG 82.</summary>
        public static byte[] Medium(string path)
        {
            using var image = NetVips.Image.Thumbnail(path, 1024, height: 1024, size: NetVips.Enums.Size.Down);
            return image.JpegsaveBuffer(q: 82);
        }
    }
}
