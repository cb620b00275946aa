using VehicleImages.Benchmarks.Support;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// What tus uploads cost the bucket with the S3 store: the bytes that go to and come from the upload
/// store's objects, counted on the wire by a proxy in front of s3rver, per byte the app received.
/// </summary>
internal sealed class TusBucketFigure : IFigure
{
    public string Name => "tus-bucket";
    public string Description => "100 photos through tus in 256 KiB chunks to S3 (s3rver): bucket bytes moved while taking chunks per byte received (≤ 1.1)";
    public bool InAll => true;
    public Need Needs => Need.S3rver;

    private const int Chunk = 256 * 1024;
    private const int Parallel = 3;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        // 100 distinct photos of about 2 MB: a few real JPEGs, made distinct by bytes after their end marker.
        var bases = MakeJpegs(Path.Combine(context.Work, "tus-bucket-bases"), 4, 3000, 2000).Select(File.ReadAllBytes).ToList();
        var files = Enumerable.Range(0, 100).Select(i => (byte[])[.. bases[i % bases.Count], .. BitConverter.GetBytes(i)]).ToList();
        var received = files.Sum(f => (long)f.Length);

        await using var s3 = await S3Server.StartAsync();
        await using var meter = new BucketMeter(s3.ServiceUrl);
        var cs = await Rig.DatabaseAsync(context.Admin);
        var storage = Directory.CreateDirectory(Path.Combine(context.Work, "storage-tus-bucket")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Processing__Workers"] = "0",
            ["RateLimits__UploadsPerMinute"] = "0",
            ["RateLimits__UploadPatchesPerMinute"] = "0",
            ["Storage__Provider"] = "S3",
            ["Storage__S3__ServiceUrl"] = meter.ServiceUrl.ToString(),
            ["Storage__S3__Bucket"] = "bench-tus-bucket",
            ["Storage__S3__AccessKey"] = "S3RVER",
            ["Storage__S3__SecretKey"] = "S3RVER",
        });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench-tus-bucket@example.test");
        var vehicle = await Rig.VehicleAsync(client);

        await System.Threading.Tasks.Parallel.ForEachAsync(files.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = Parallel },
            async (f, _) =>
            {
                var outcome = await TusFigure.TusUploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b, Chunk);
                if (outcome != "created")
                    throw new InvalidOperationException($"photo_{f.i}.jpg: {outcome}");
            });

        // Every design reads each finished file once, to hand it to the ingest; that read is not the chunks' cost.
        var (sent, fetched) = (meter.Sent, meter.Fetched);
        var moved = sent + Math.Max(0, fetched - received);
        var ratio = (double)moved / received;
        return
        [
            new($"tus to S3: 100 × {received / 100.0 / 1024 / 1024:0.0} MB in 256 KiB chunks, {Parallel} at a time: bucket bytes moved per byte received",
                $"{moved / 1024.0 / 1024:0.0} MiB moved", $"{received / 1024.0 / 1024:0.0} MiB received; sent {sent / 1024.0 / 1024:0.0} MiB, " +
                $"fetched {fetched / 1024.0 / 1024:0.0} MiB (of which one read of each finished file)", $"{ratio:0.00}", "≤ 1.1", ratio <= 1.1),
        ];
    }
}
