using Npgsql;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// The export with privacy boxes (issue 27): 300 photos at 2048 with a plate and a face box on every photo against the
/// same export without boxes, in the same run. The first export with boxes makes the blurred copies (once per box set,
/// reported beside); the target is on the next one, served from them. Part of <c>export</c>; <c>export-privacy</c> runs
/// only these rows, for a short run.
/// </summary>
internal sealed class ExportPrivacyFigure : IFigure
{
    private const int Count = 300;

    public string Name => "export-privacy";
    public string Description => $"{Count}-photo export at 2048 with privacy boxes on every photo vs the same without (≤ 1.3×, blurred copies made once then served); also part of export";
    public bool InAll => false;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        var files = MakeJpegs(Path.Combine(context.Work, "export-privacy-12mp"), 6, 4000, 3000);
        var cs = await Rig.DatabaseAsync(context.Admin);
        var storage = Directory.CreateDirectory(Path.Combine(context.Work, "storage-export-privacy")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage,
            new Dictionary<string, string> { ["Processing__Workers"] = "0", ["Privacy__LocalDetector"] = "false" });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "export-privacy@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        foreach (var (file, i) in files.Select((f, i) => (f, i)))
            await Rig.UploadAsync(client, vehicle, $"photo_{i}.jpg", await File.ReadAllBytesAsync(file));
        await ExportFigure.CloneAsync(cs, vehicle, Count);
        return await RowsAsync(cs, client, app, vehicle, Count);
    }

    internal static async Task<IReadOnlyList<Row>> RowsAsync(string cs, HttpClient client, AppProcess app, Guid vehicle, int count)
    {
        await ExportFigure.ExportAsync(client, app, vehicle, "2048"); // the files in the page cache, as for the next ones
        var (without, bytes, _) = await ExportFigure.ExportAsync(client, app, vehicle, "2048");

        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            var boxes = new NpgsqlCommand("""
                INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source)
                SELECT id, 'plate', 0.40, 0.70, 0.20, 0.06, 'user' FROM vehicle_images WHERE vehicle_id = @v
                UNION ALL
                SELECT id, 'face', 0.10, 0.20, 0.08, 0.11, 'local' FROM vehicle_images WHERE vehicle_id = @v
                """, c);
            boxes.Parameters.AddWithValue("v", vehicle);
            await boxes.ExecuteNonQueryAsync();
        }
        var (making, _, _) = await ExportFigure.ExportAsync(client, app, vehicle, "2048");
        var (with, withBytes, _) = await ExportFigure.ExportAsync(client, app, vehicle, "2048");

        var ratio = with / without;
        return
        [
            new($"export: {count} photos at 2048 with privacy boxes on every photo (blurred copies made)", $"{with.TotalSeconds:0.00} s ({withBytes / 1024 / 1024} MiB)",
                $"without boxes {without.TotalSeconds:0.00} s ({bytes / 1024 / 1024} MiB)", $"{ratio:0.00}×", "≤ 1.3×", ratio <= 1.3),
            new($"export: the first export with boxes, making {count} blurred copies", $"{making.TotalSeconds:0.00} s", $"without boxes {without.TotalSeconds:0.00} s",
                $"{making / without:0.0}×", "once per box set", true),
        ];
    }
}
