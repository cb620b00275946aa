using System.Diagnostics;
using System.Text.RegularExpressions;
using Npgsql;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Browsers;

namespace VehicleImages.Benchmarks.Figures;

internal sealed partial class GalleryFigure : IFigure
{
    public string Name => "gallery";
    public string Description => "server render of /vehicles/{id} with 5,000 photos against 50: ≤ 300 ms, elements bounded (≤ 1.2× the 50-photo page)";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await GalleryAsync(context.Admin, context.Work);

    public static async Task<List<Row>> GalleryAsync(string admin, string work)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-gallery")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var (api, _) = await Rig.UserAsync(app.BaseAddress, "gallery@example.test");
        var big = await Rig.VehicleAsync(api);
        var small = await Rig.VehicleAsync(api);
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            var cmd = new NpgsqlCommand("""
                INSERT INTO vehicle_images (vehicle_id, user_id, file_name, processing_status, ai_scan_metadata)
                SELECT v.id, v.user_id, 'IMG_' || g || '.jpg', 'complete', '{"tier_1_analysis": {}}'
                FROM vehicles v, generate_series(1, CASE WHEN v.id = @big THEN 5000 ELSE 50 END) g WHERE v.id IN (@big, @small)
                """, c);
            cmd.Parameters.AddWithValue("big", big);
            cmd.Parameters.AddWithValue("small", small);
            await cmd.ExecuteNonQueryAsync();
        }

        var browser = await SignInAsync(app.BaseAddress, "gallery@example.test");
        async Task<(double Ms, int Nodes)> RenderAsync(Guid vehicle)
        {
            await browser.GetStringAsync($"vehicles/{vehicle}"); // warm
            var times = new List<double>();
            string html = "";
            for (var i = 0; i < 5; i++)
            {
                var clock = Stopwatch.StartNew();
                html = await browser.GetStringAsync($"vehicles/{vehicle}");
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            if (!html.Contains("photo-grid"))
                throw new InvalidOperationException("the gallery did not render its photos (not signed in?)");
            return (Median(times), TagRegex().Matches(html).Count);
        }

        var (bigMs, bigNodes) = await RenderAsync(big);
        var (smallMs, smallNodes) = await RenderAsync(small);
        return
        [
            new("gallery: first render of /vehicles/{id} with 5,000 photos", $"{bigMs:0} ms", $"50 photos: {smallMs:0} ms", $"{bigMs:0} ms", "≤ 300 ms", bigMs <= 300),
            new("gallery: DOM nodes with 5,000 photos", $"{bigNodes}", $"50 photos: {smallNodes}", $"{(double)bigNodes / smallNodes:0.00}× the 50-photo page",
                "bounded", bigNodes <= smallNodes * 1.2),
        ];
    }

    [GeneratedRegex("<[a-zA-Z]")]
    private static partial Regex TagRegex();
}
