using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using VehicleImages.Core.Images;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// The zip export (issue 26): 300 photos at 2048 from the stored variants against <c>zip -0</c> over the same files, at
/// 1600 (decode and encode) against vipsthumbnail over the same large variants, the app's RSS growth during a big export of
/// originals, and the CPU the app spends after a client hangs up mid-zip.
/// </summary>
internal sealed class ExportFigure : IFigure
{
    private const int Count = 300;
    private const int Distinct = 6;

    public string Name => "export";
    public string Description => $"{Count}-photo export: size=2048 vs zip -0 over the same stored files (≥ 0.8× throughput), size=1600 vs vipsthumbnail (≤ 1.25×), RSS growth over the 2048 export and over 1.2 GB of originals (≤ 64 MiB), app CPU 1–3 s after a hang-up mid-zip (≤ 50 ms), size=2048 with privacy boxes on every photo vs without (≤ 1.3×; export-privacy runs only that)";
    public bool InAll => false;
    public Need Needs => Need.VipsThumbnail | Need.Zip;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        // A few distinct 12 MP photos through the real upload, then rows for the same stored files up to 300 (uploading 300
        // would measure the ingest, not the export).
        var files = MakeJpegs(Path.Combine(context.Work, "export-12mp"), Distinct, 4000, 3000);
        var cs = await Rig.DatabaseAsync(context.Admin);
        var storage = Directory.CreateDirectory(Path.Combine(context.Work, "storage-export")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Processing__Workers"] = "0",
            // The boxes are the privacy rows' own (every photo gets one there); no detector backfill adds others meanwhile.
            ["Privacy__LocalDetector"] = "false",
        });
        var (client, token) = await Rig.UserAsync(app.BaseAddress, "export@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        foreach (var (file, i) in files.Select((f, i) => (f, i)))
            await Rig.UploadAsync(client, vehicle, $"photo_{i}.jpg", await File.ReadAllBytesAsync(file));
        var variants = await CloneAsync(cs, vehicle, Count);

        // The same stored files, 300 names, for the references.
        var large = LinkAll(Path.Combine(context.Work, "export-large"), storage, variants.Select(v => v.Large.Key));
        var zipTime = await TimeAsync("zip", ["-0", "-q", "-", .. large], devNull: true);
        var vipsOut = Directory.CreateDirectory(Path.Combine(context.Work, "export-vips")).FullName;
        var vipsTime = await TimeAsync("vipsthumbnail", ["-s", "1600", "-o", Path.Combine(vipsOut, "%s.jpg[Q=85,strip]"), .. large], devNull: false);
        var largeBytes = large.Sum(f => new FileInfo(File.ResolveLinkTarget(f, returnFinalTarget: true)!.FullName).Length);

        var (at2048, bytes2048, rss2048) = await ExportAsync(client, app, vehicle, "2048");
        var (at1600, _, _) = await ExportAsync(client, app, vehicle, "1600");
        var (atOriginal, bytesOriginal, rssGrowth) = await ExportAsync(client, app, vehicle, "original");

        // A hang-up mid-zip at 1600: CPU from 1 s to 3 s after it, against the same 2 s while exporting.
        var cpuWorking = await CpuDuringAsync(app, token, vehicle, hangUp: false);
        var cpuAfter = await CpuDuringAsync(app, token, vehicle, hangUp: true);

        // Privacy boxes on every photo (issue 27): the same export at 2048 from the blurred copies.
        var privacy = await ExportPrivacyFigure.RowsAsync(cs, client, app, vehicle, Count);

        var throughput = bytes2048 / at2048.TotalSeconds;
        var zipThroughput = largeBytes / zipTime.TotalSeconds;
        var speed = throughput / zipThroughput;
        var time1600 = at1600 / vipsTime;
        return
        [
            new($"export: {Count} photos at 2048 (stored variants)", $"{throughput / 1024 / 1024:0} MiB/s ({at2048.TotalSeconds:0.00} s, {Mib(bytes2048)})",
                $"zip -0 {zipThroughput / 1024 / 1024:0} MiB/s ({zipTime.TotalSeconds:0.00} s)", $"{speed:0.00}×", "≥ 0.8×", speed >= 0.8),
            new($"export: {Count} photos at 1600 (decode and encode)", $"{at1600.TotalSeconds:0.00} s", $"vipsthumbnail {vipsTime.TotalSeconds:0.00} s",
                $"{time1600:0.00}×", "≤ 1.25×", time1600 <= 1.25),
            new($"export: RSS growth over the {Mib(bytes2048)} export at 2048", Mib(rss2048), "", Mib(rss2048), "≤ 64 MiB", rss2048 <= 64L * 1024 * 1024),
            new($"export: RSS growth over {Mib(bytesOriginal)} of originals ({atOriginal.TotalSeconds:0.0} s)", Mib(rssGrowth), "", Mib(rssGrowth), "≤ 64 MiB", rssGrowth <= 64L * 1024 * 1024),
            new("export: app CPU 1–3 s after a hang-up mid-zip", $"{cpuAfter.TotalMilliseconds:0} ms", $"{cpuWorking.TotalMilliseconds:0} ms while exporting",
                $"{cpuAfter / cpuWorking:0.00}×", "≤ 50 ms", cpuAfter.TotalMilliseconds <= 50),
            .. privacy,
        ];
    }

    /// <summary>Adds rows for the uploaded photos' stored files up to <paramref name="count"/>; returns every row's variants.</summary>
    internal static async Task<List<VariantSet>> CloneAsync(string cs, Guid vehicle, int count)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var clone = new NpgsqlCommand("""
            INSERT INTO vehicle_images
            SELECT (jsonb_populate_record(NULL::vehicle_images, to_jsonb(v)
                    || jsonb_build_object('id', gen_random_uuid(), 'is_primary', false, 'sha256', md5(v.id::text || g::text)))).*
            FROM vehicle_images v, generate_series(1, @copies) g WHERE v.vehicle_id = @v
            """, c);
        clone.Parameters.AddWithValue("v", vehicle);
        clone.Parameters.AddWithValue("copies", count / Distinct - 1);
        await clone.ExecuteNonQueryAsync();
        var read = new NpgsqlCommand("SELECT variants::text FROM vehicle_images WHERE vehicle_id = @v", c);
        read.Parameters.AddWithValue("v", vehicle);
        var variants = new List<VariantSet>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            variants.Add(VariantSet.FromJson(reader.GetString(0))!);
        return variants;
    }

    /// <summary>One symbolic link a row, named apart, to the stored file the row's export reads.</summary>
    private static List<string> LinkAll(string folder, string storage, IEnumerable<string> keys)
    {
        Directory.CreateDirectory(folder);
        return keys.Select((key, i) =>
        {
            var link = Path.Combine(folder, $"photo_{i:000}.jpg");
            File.CreateSymbolicLink(link, Path.Combine(storage, key));
            return link;
        }).ToList();
    }

    private static async Task<TimeSpan> TimeAsync(string tool, string[] args, bool devNull)
    {
        var start = new ProcessStartInfo(tool, args) { RedirectStandardOutput = devNull };
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(start)!;
        if (devNull)
            await p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await p.WaitForExitAsync();
        watch.Stop();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{tool} failed ({p.ExitCode})");
        return watch.Elapsed;
    }

    /// <summary>The whole export read and dropped: its time, its bytes, and the app's RSS growth over it (sampled every 20 ms).</summary>
    internal static async Task<(TimeSpan Time, long Bytes, long RssGrowth)> ExportAsync(HttpClient client, AppProcess app, Guid vehicle, string size)
    {
        var before = app.RssBytes();
        var peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, app.RssBytes());
                await Task.Delay(20);
            }
        });
        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync($"api/vehicles/{vehicle}/export?set=all&size={size}", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256 * 1024];
        long bytes = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
            bytes += n;
        watch.Stop();
        await sampling.CancelAsync();
        await sampler;
        return (watch.Elapsed, bytes, peak - before);
    }

    /// <summary>
    /// The app's CPU from 1 s to 3 s after an export at 1600 starts reading (<paramref name="hangUp"/> false: the client
    /// keeps reading) or after the client resets the connection past its first 64 KiB.
    /// </summary>
    private static async Task<TimeSpan> CpuDuringAsync(AppProcess app, string token, Guid vehicle, bool hangUp)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
        tcp.LingerState = new LingerOption(true, 0);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /api/vehicles/{vehicle}/export?set=all&size=1600 HTTP/1.1\r\nHost: {app.BaseAddress.Authority}\r\nAuthorization: Bearer {token}\r\n\r\n"));
        var buffer = new byte[64 * 1024];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0)
                throw new InvalidOperationException("the export ended before its first 64 KiB");
            read += n;
        }

        using var keepReading = new CancellationTokenSource();
        Task reading = Task.CompletedTask;
        if (hangUp)
            tcp.Close();
        else
            reading = Task.Run(async () =>
            {
                try
                {
                    while (await stream.ReadAsync(buffer, keepReading.Token) > 0)
                    {
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException)
                {
                }
            });
        await Task.Delay(TimeSpan.FromSeconds(1));
        var from = CpuOf(app.Pid);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var cpu = CpuOf(app.Pid) - from;
        await keepReading.CancelAsync();
        tcp.Close();
        await reading;
        // Let the app notice and settle before the next measurement.
        await Task.Delay(TimeSpan.FromSeconds(1));
        return cpu;
    }
}
