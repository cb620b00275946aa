using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using VehicleImages.Benchmarks.Support;
using static VehicleImages.Benchmarks.Support.Measures;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// A share link under a crowd: 200 anonymous visitors at once (each its own X-Forwarded-For, as the loopback proxy sends it,
/// so each has its own RateLimits:SharePerMinute partition) open a 60-photo share and fetch its 60 thumbnails, six at a
/// time like a browser. The reference is the app's own /health, asked throughout the same load.
/// </summary>
internal sealed partial class ShareFigure : IFigure
{
    private const int Visitors = 200;
    private const int Photos = 60;
    private const int ThumbsAtOnce = 6;

    public string Name => "share";
    public string Description => $"{Visitors} concurrent anonymous visitors open a {Photos}-photo share and fetch its thumbnails: p95 page ≤ 3× p95 /health in the same load, 0 errors, page HTML ≤ 60 KB, app CPU per view";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        var cs = await Rig.DatabaseAsync(context.Admin);
        var storage = Directory.CreateDirectory(Path.Combine(context.Work, "storage-share")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var (owner, _) = await Rig.UserAsync(app.BaseAddress, "share@example.test");
        var vehicle = (await (await owner.PostAsJsonAsync("api/vehicles", new { name = "Benchmark car", make = "Porsche", model = "911", year = 1973 }))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // One real upload (its variants stored), then 59 rows that point at the same stored files: the page and the thumbnail
        // path do the same work per photo, and the set-up takes seconds, not a minute of decoding.
        var photo = File.ReadAllBytes(Support.Photos.MakeJpegs(Path.Combine(context.Work, "share"), 1, 1600, 1200)[0]);
        await Rig.UploadAsync(owner, vehicle, "share.jpg", photo);
        await Databases.SqlAsync(cs, $"""
            INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, variants, width, height, taken_at, created_at)
            SELECT gen_random_uuid(), vehicle_id, user_id, 'IMG_' || g || '.jpg', 'complete', variants, width, height,
                   now() - g * interval '1 minute', now()
            FROM vehicle_images, generate_series(1, {Photos - 1}) g WHERE vehicle_id = '{vehicle}';
            UPDATE vehicle_images SET processing_status = 'complete', taken_at = now() WHERE vehicle_id = '{vehicle}' AND processing_status <> 'complete';
            INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source)
            SELECT id, 'detail', (ARRAY['badge', 'light', 'grille', 'door_jamb', 'panel'])[1 + (row_number() OVER ()) % 5], 0.9, 'ai'
            FROM vehicle_images WHERE vehicle_id = '{vehicle}';
            """);
        var created = await owner.PostAsJsonAsync($"api/vehicles/{vehicle}/shares", new { set = "all" });
        created.EnsureSuccessStatusCode();
        var path = new Uri((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!).AbsolutePath;

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromMinutes(2),
        };
        var html = await http.GetStringAsync(path);
        var thumbs = ThumbRegex().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups["src"].Value)).ToList();
        if (thumbs.Count != Photos)
            throw new InvalidOperationException($"the share page shows {thumbs.Count} photos, not {Photos}");
        var htmlBytes = System.Text.Encoding.UTF8.GetByteCount(html);
        for (var i = 0; i < 5; i++) // warm: JIT, pools, the listing's queries
            await VisitAsync(http, path, $"10.255.0.{i + 1}", thumbs);

        var pageTimes = new ConcurrentBag<double>();
        var healthTimes = new ConcurrentBag<double>();
        var errors = 0;
        var requests = 0;
        var done = new CancellationTokenSource();
        var health = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.GetAsync("health");
                healthTimes.Add(clock.Elapsed.TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                    Interlocked.Increment(ref errors);
                await Task.Delay(20);
            }
        })).ToList();

        var cpu0 = CpuOf(app.Pid);
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Visitors).Select(v => Task.Run(async () =>
        {
            var (ms, failed, count) = await VisitAsync(http, path, $"10.{v / 250}.{v % 250}.7", thumbs);
            pageTimes.Add(ms);
            Interlocked.Add(ref errors, failed);
            Interlocked.Add(ref requests, count);
        })));
        var elapsed = wall.Elapsed;
        var cpu = CpuOf(app.Pid) - cpu0;
        await done.CancelAsync();
        await Task.WhenAll(health);

        var (pageP95, healthP95) = (P95(pageTimes), P95(healthTimes));
        var ratio = pageP95 / healthP95;
        var cpuPerView = cpu.TotalMilliseconds / Visitors;
        return
        [
            new($"share: p95 page time, {Visitors} concurrent visitors of a {Photos}-photo share", $"{pageP95:0} ms (median {Median([.. pageTimes]):0} ms)",
                $"/health p95 {healthP95:0} ms in the same load", $"{ratio:0.0}×", "≤ 3×", ratio <= 3),
            new("share: errors (page, thumbnails, /health)", $"{errors}", $"{requests} share requests in {elapsed.TotalSeconds:0.0} s", $"{errors}", "0", errors == 0),
            new("share: app CPU per page view (the page and its 60 thumbnails)", $"{cpuPerView:0.0} ms",
                $"{cpu.TotalSeconds:0.0} s CPU for {Visitors} views; load {Load()}", $"{cpuPerView:0.0} ms", "printed", true),
            new($"share: page HTML for {Photos} photos", $"{htmlBytes / 1024.0:0.0} KB", "", $"{htmlBytes / 1024.0:0.0} KB", "≤ 60 KB", htmlBytes <= 60 * 1024),
        ];
    }

    /// <summary>One visitor: the page (timed), then its thumbnails six at a time. Errors are any answer but 200.</summary>
    private static async Task<(double PageMs, int Errors, int Requests)> VisitAsync(HttpClient http, string path, string address, List<string> thumbs)
    {
        var errors = 0;
        var clock = Stopwatch.StartNew();
        using (var page = new HttpRequestMessage(HttpMethod.Get, path))
        {
            page.Headers.Add("X-Forwarded-For", address);
            using var response = await http.SendAsync(page);
            await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode != HttpStatusCode.OK)
                errors++;
        }
        var pageMs = clock.Elapsed.TotalMilliseconds;
        using var gate = new SemaphoreSlim(ThumbsAtOnce);
        await Task.WhenAll(thumbs.Select(async url =>
        {
            await gate.WaitAsync();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Add("X-Forwarded-For", address);
                using var response = await http.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                    Interlocked.Increment(ref errors);
            }
            finally
            {
                gate.Release();
            }
        }));
        return (pageMs, errors, 1 + thumbs.Count);
    }

    private static double P95(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * 0.95) - 1)];
    }

    [GeneratedRegex("<img src=\"(?<src>/s/[^\"]+)\"")]
    private static partial Regex ThumbRegex();
}
