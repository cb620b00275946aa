using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>Resumable uploads (tus): throughput against the multipart call in the same run, by chunk size; RSS over a 2 GB batch.</summary>
internal sealed class TusFigure : IFigure
{
    public string Name => "tus";
    public string Description => "100 × 5 MB through tus in 1, 4 and 16 MiB chunks against the multipart call (≥ 0.9× its throughput); RSS growth over a 2 GB tus batch ≤ 100 MiB";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await TusAsync(context.Admin, context.Work);

    private const int TusParallel = 3;

    public static async Task<List<Row>> TusAsync(string admin, string work)
    {
        // 100 distinct photos of about 5 MB: a few real 16 MP JPEGs, made distinct by bytes after their end marker.
        var bases = MakeJpegs(Path.Combine(work, "tus-bases"), 4, 4600, 3450).Select(File.ReadAllBytes).ToList();
        var averageMb = bases.Average(b => b.Length) / 1024.0 / 1024.0;

        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-tus")).FullName;
        var settings = new Dictionary<string, string> { ["Processing__Workers"] = "0", ["RateLimits__UploadsPerMinute"] = "0", ["RateLimits__UploadPatchesPerMinute"] = "0" };
        await using var app = await Rig.StartAppAsync(cs, storage, settings);
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench-tus@example.test");

        var run = 0;
        List<byte[]> Batch() => Enumerable.Range(0, 100).Select(i => (byte[])[.. bases[i % bases.Count], .. BitConverter.GetBytes(run), .. BitConverter.GetBytes(i)]).ToList();

        // Warm-up of both paths (JIT, pools), not measured.
        run++;
        var warm = Batch().Take(6).ToList();
        await TimeAsync(client, warm, (c, v, n, b) => Rig.UploadAsync(c, v, n, b));
        await TimeAsync(client, warm.Select(b => (byte[])[.. b, 1]).ToList(), (c, v, n, b) => TusUploadAsync(c, v, n, b, 4 * 1024 * 1024));

        run++;
        var multipart = await TimeAsync(client, Batch(), (c, v, n, b) => Rig.UploadAsync(c, v, n, b));
        var rows = new List<Row>();
        var best = (Chunk: 0, Seconds: double.MaxValue);
        foreach (var chunk in new[] { 1, 4, 16 })
        {
            run++;
            var seconds = await TimeAsync(client, Batch(), (c, v, n, b) => TusUploadAsync(c, v, n, b, chunk * 1024 * 1024));
            var ratio = multipart / seconds;
            if (seconds < best.Seconds)
                best = (chunk, seconds);
            rows.Add(new($"tus: 100 × {averageMb:0.0} MB, {chunk} MiB chunks, {TusParallel} at a time", $"{seconds:0.00} s",
                $"multipart {multipart:0.00} s", $"{ratio:0.00}× its throughput", "≥ 0.9×", ratio >= 0.9));
        }

        rows.Add(new("tus: chunk size chosen", $"{best.Chunk} MiB", "", $"{multipart / best.Seconds:0.00}×", "fastest of 1, 4, 16 MiB", true));
        rows.Add(await TusMemoryAsync(admin, work));
        return rows;
    }

    /// <summary>
    /// 2 GB through tus into a fresh process: 50 files of 40 MiB in 4 MiB chunks. The bytes are not an
    /// image (the ingest rejects them at the sniff), so the figure is the upload path's own memory;
    /// decoding has its figures above.
    /// </summary>
    private static async Task<Row> TusMemoryAsync(string admin, string work)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-tus-rss")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0", ["RateLimits__UploadsPerMinute"] = "0", ["RateLimits__UploadPatchesPerMinute"] = "0" });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench-tus-rss@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var file = new byte[40 * 1024 * 1024];
        Random.Shared.NextBytes(file);
        await TusUploadAsync(client, vehicle, "warm.bin", file[..(4 * 1024 * 1024)], 4 * 1024 * 1024);
        var before = app.RssBytes();
        await Parallel.ForEachAsync(Enumerable.Range(0, 50), new ParallelOptions { MaxDegreeOfParallelism = TusParallel }, async (i, _) =>
        {
            var copy = (byte[])file.Clone();
            BitConverter.TryWriteBytes(copy.AsSpan(0, 4), i);
            var outcome = await TusUploadAsync(client, vehicle, $"big_{i}.bin", copy, 4 * 1024 * 1024);
            if (outcome != "rejected")
                throw new InvalidOperationException("random bytes were not rejected: " + outcome);
        });
        var peak = app.PeakRssBytes();
        var growth = Math.Max(0, peak - before);
        return new("memory: RSS growth over a 2 GB tus batch", Mib(growth), $"RSS before {Mib(before)}", Mib(growth), "≤ 100 MiB",
            growth <= 100L * 1024 * 1024);
    }

    private static async Task<double> TimeAsync(HttpClient client, List<byte[]> files, Func<HttpClient, Guid, string, byte[], Task> upload)
    {
        var vehicle = await Rig.VehicleAsync(client);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = TusParallel },
            async (f, _) => await upload(client, vehicle, $"photo_{f.i}.jpg", f.b));
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>What tus-js-client does: create, PATCH each chunk, then read the outcome.</summary>
    internal static async Task<string> TusUploadAsync(HttpClient client, Guid vehicle, string name, byte[] bytes, int chunkSize)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "api/uploads");
        create.Headers.Add("Tus-Resumable", "1.0.0");
        create.Headers.Add("Upload-Length", bytes.Length.ToString());
        create.Headers.Add("Upload-Metadata",
            $"vehicleId {Convert.ToBase64String(Encoding.UTF8.GetBytes(vehicle.ToString()))},filename {Convert.ToBase64String(Encoding.UTF8.GetBytes(name))}");
        var created = await client.SendAsync(create);
        created.EnsureSuccessStatusCode();
        var url = created.Headers.Location!.OriginalString.TrimStart('/');
        for (var offset = 0; offset < bytes.Length; offset += chunkSize)
        {
            using var patch = new HttpRequestMessage(HttpMethod.Patch, url);
            patch.Headers.Add("Tus-Resumable", "1.0.0");
            patch.Headers.Add("Upload-Offset", offset.ToString());
            patch.Content = new ByteArrayContent(bytes, offset, Math.Min(chunkSize, bytes.Length - offset));
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            (await client.SendAsync(patch)).EnsureSuccessStatusCode();
        }

        var status = await client.GetFromJsonAsync<System.Text.Json.JsonElement>(url);
        var outcome = status.GetProperty("outcome").GetString()!;
        if (outcome is not ("created" or "rejected"))
            throw new InvalidOperationException($"{name}: {status}");
        return outcome;
    }
}
