using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MetadataExtractor;
using MetadataExtractor.Formats.Exif;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Listings;

/// <summary>The export zip on the real app, store and database: names and order, sizes, nothing private inside, a missing file, bad input.</summary>
public sealed class ExportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string Name, byte[] Bytes) File(string name, string? uploadAs = null) => (uploadAs ?? name, System.IO.File.ReadAllBytes(TestData.Image(name)));

    /// <summary>Marks the uploaded photos analysed as the given shots (quality 8), as the analysis leaves them.</summary>
    internal static async Task AnalysedAsync(string cs, params (Guid Id, string Shot)[] photos)
    {
        foreach (var (id, shot) in photos)
            await ImageRows.ScalarAsync<int>(cs, """
                UPDATE vehicle_images SET processing_status = 'complete',
                       ai_scan_metadata = jsonb_build_object('tier_1_analysis', jsonb_build_object('quality_score', 8)) WHERE id = @id;
                INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source) VALUES (@id, @c, @a, 0.9, 'ai');
                SELECT 1
                """, ("id", id), ("c", shot.Split('.')[0]), ("a", shot.Split('.')[1]));
    }

    internal static async Task<ZipArchive> ZipAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        return new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync(Ct)), ZipArchiveMode.Read);
    }

    internal static byte[] Bytes(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    internal static List<string[]> Csv(ZipArchive zip)
    {
        using var reader = new StreamReader(zip.GetEntry("photos.csv")!.Open());
        return [.. reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(','))];
    }

    /// <summary>No GPS, no serial numbers, no owner or artist names, no maker notes: what MetadataExtractor finds in the entry.</summary>
    internal static void AssertNothingPrivate(string name, byte[] jpeg)
    {
        var directories = ImageMetadataReader.ReadMetadata(new MemoryStream(jpeg));
        Assert.DoesNotContain(directories, d => d is GpsDirectory);
        var tags = directories.SelectMany(d => d.Tags).Select(t => $"{t.DirectoryName}/{t.Name}").ToList();
        Assert.DoesNotContain(tags, t => t.Contains("Serial", StringComparison.OrdinalIgnoreCase) || t.Contains("Owner", StringComparison.OrdinalIgnoreCase)
            || t.Contains("Artist", StringComparison.OrdinalIgnoreCase) || t.Contains("Makernote", StringComparison.OrdinalIgnoreCase)
            || t.Contains("Make", StringComparison.Ordinal) || t.Contains("GPS", StringComparison.OrdinalIgnoreCase));
        Assert.True(jpeg[0] == 0xFF && jpeg[1] == 0xD8, $"{name} is not a JPEG");
    }

    [Fact]
    public async Task Export_ListingAndAll_NamedByPositionAndShot_EveryEntryClean_SizesAsAsked_MissingFileNamedNotBroken()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var empty = await UploadTests.CreateVehicleAsync(owner, "Empty");
        var uploaded = await UploadTests.UploadAsync(owner, vehicle,
            File("exif-samples__DSCN0010.jpg"), File("exif-samples__canon_hdr_YES.jpg"), File("exif-samples__Kodak_CX7530.jpg", "=HYPERLINK(1).jpg"),
            File("exif-samples__HMD_Nokia_8.3_5G.heif"), File("exif-samples__Canon_40D.jpg"));
        var (gps, rotated, formula, heif, notVehicle) = (uploaded[0].ImageId!.Value, uploaded[1].ImageId!.Value, uploaded[2].ImageId!.Value,
            uploaded[3].ImageId!.Value, uploaded[4].ImageId!.Value);
        await AnalysedAsync(cs, (gps, "exterior.front"), (rotated, "exterior.front_3q_left"), (formula, "interior.dashboard"),
            (heif, "exterior.rear"), (notVehicle, "not_vehicle.other"));

        // The listing at 2048: the contract's order and names; the not-vehicle photo stays out.
        using (var zip = await ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=listing&size=2048"))
        {
            Assert.Equal(["01-exterior-front_3q_left.jpg", "02-exterior-front.jpg", "03-exterior-rear.jpg", "04-interior-dashboard.jpg", "photos.csv"],
                zip.Entries.Select(e => e.FullName));
            foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".jpg", StringComparison.Ordinal)))
                AssertNothingPrivate(entry.FullName, Bytes(entry));
            var csv = Csv(zip);
            Assert.Equal("position,file,original_name,category,angle,quality,taken_at,width,height,missing", string.Join(",", csv[0]));
            Assert.Equal(["1", "01-exterior-front_3q_left.jpg", "exif-samples__canon_hdr_YES.jpg", "exterior", "front_3q_left", "8"], csv[1][..6]);
            Assert.Equal(("1536", "2048", ""), (csv[1][7], csv[1][8], csv[1][9]));
            Assert.Equal("'=HYPERLINK(1).jpg", csv[4][2]); // inert in a spreadsheet
        }

        // All, at 1600: the listing first, then the rest by time taken; re-encoded to the size, upright.
        using (var zip = await ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=all&size=1600"))
        {
            Assert.Equal("05-not_vehicle-other.jpg", zip.Entries[4].FullName);
            var cover = Bytes(zip.Entries[0]);
            AssertNothingPrivate("cover", cover);
            var size = ImageMetadataReader.ReadMetadata(new MemoryStream(cover)).OfType<MetadataExtractor.Formats.Jpeg.JpegDirectory>().Single();
            Assert.Equal((1200, 1600), (size.GetImageWidth(), size.GetImageHeight()));
        }

        // Originals: a JPEG's pixels untouched (its scan bytes are the uploaded file's), only the orientation left; HEIF becomes a full-size JPEG.
        using (var zip = await ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=listing&size=original"))
        {
            var original = System.IO.File.ReadAllBytes(TestData.Image("exif-samples__canon_hdr_YES.jpg"));
            var entry = Bytes(zip.GetEntry("01-exterior-front_3q_left.jpg")!);
            Assert.True(entry.Length < original.Length);
            var scan = original.AsSpan(original.AsSpan().LastIndexOf(new byte[] { 0xFF, 0xDA }));
            Assert.True(entry.AsSpan().IndexOf(scan[..4096]) > 0, "the scan data is the original's");
            var exif = ImageMetadataReader.ReadMetadata(new MemoryStream(entry)).OfType<ExifIfd0Directory>().Single();
            Assert.Equal(6, exif.GetInt32(ExifDirectoryBase.TagOrientation));
            Assert.Single(exif.Tags);
            AssertNothingPrivate("original", entry);
            var rear = Bytes(zip.GetEntry("03-exterior-rear.jpg")!);
            AssertNothingPrivate("heif", rear);
            var heifSize = ImageMetadataReader.ReadMetadata(new MemoryStream(rear)).OfType<MetadataExtractor.Formats.Jpeg.JpegDirectory>().Single();
            Assert.Equal((3456, 4608), (heifSize.GetImageWidth(), heifSize.GetImageHeight()));
        }

        // A stored file gone: the photo is left out and named in the CSV; the zip is whole.
        var variants = VariantSet.FromJson(await ImageRows.ScalarAsync<string>(cs, "SELECT variants::text FROM vehicle_images WHERE id = @id", ("id", gps)))!;
        await app.Services.GetRequiredService<IImageStore>().DeleteAsync(variants.Large.Key, Ct);
        using (var zip = await ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=listing&size=2048"))
        {
            Assert.Equal(["01-exterior-front_3q_left.jpg", "03-exterior-rear.jpg", "04-interior-dashboard.jpg", "photos.csv"], zip.Entries.Select(e => e.FullName));
            var row = Csv(zip).Single(r => r[0] == "2");
            Assert.Equal(("", "stored file missing"), (row[1], row[^1]));
        }

        // Bad input: clear answers, no 500.
        var badSize = await owner.GetAsync($"api/vehicles/{vehicle}/export?size=4000", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badSize.StatusCode);
        Assert.Contains("original, 2048, 1600, 1024", await badSize.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync($"api/vehicles/{vehicle}/export?set=some", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicle}/export", Ct)).StatusCode);
        var nothing = await owner.GetAsync($"api/vehicles/{empty}/export", Ct);
        Assert.Equal(HttpStatusCode.Conflict, nothing.StatusCode);
        Assert.Contains("no photos", (await nothing.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Export_QualityColumn_IsTheListingsReadingOfQualityScore()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var uploaded = await UploadTests.UploadAsync(owner, vehicle,
            File("exif-samples__DSCN0010.jpg"), File("exif-samples__canon_hdr_YES.jpg"), File("exif-samples__Canon_40D.jpg"));
        var (fraction, low, text) = (uploaded[0].ImageId!.Value, uploaded[1].ImageId!.Value, uploaded[2].ImageId!.Value);
        await AnalysedAsync(cs, (fraction, "exterior.front_3q_left"), (low, "exterior.rear"), (text, "interior.dashboard"));
        // As another provider or an older version may have left them: a fraction, an integer under Listing__MinQuality (5), a string.
        foreach (var (id, score) in new[] { (fraction, "4.6"), (low, "4"), (text, "\"8\"") })
            await ImageRows.ScalarAsync<int>(cs,
                "WITH u AS (UPDATE vehicle_images SET ai_scan_metadata = jsonb_build_object('tier_1_analysis', jsonb_build_object('quality_score', @q::jsonb)) WHERE id = @id RETURNING 1) SELECT count(*)::int FROM u",
                ("id", id), ("q", score));

        // The listing reads 4.6 as 5 (listed) and 4 as under the minimum (the tray says so).
        var listing = await owner.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/listing", Ct);
        Assert.Contains(listing.GetProperty("items").EnumerateArray(), i => i.GetProperty("imageId").GetGuid() == fraction);
        var tray = listing.GetProperty("tray").EnumerateArray().Single(t => t.GetProperty("imageId").GetGuid() == low);
        Assert.Equal("quality 4 is under 5", tray.GetProperty("reason").GetString());

        // The CSV says the same numbers: 5, 4, and nothing for a score that is not a number.
        using var zip = await ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=all&size=1024");
        var rows = Csv(zip).Skip(1).ToDictionary(r => r[2], r => r[5]);
        Assert.Equal("5", rows["exif-samples__DSCN0010.jpg"]);
        Assert.Equal("4", rows["exif-samples__canon_hdr_YES.jpg"]);
        Assert.Equal("", rows["exif-samples__Canon_40D.jpg"]);
    }

    [Fact]
    public void ConcurrentPerUser_TheLimitHolds_AndAPlaceComesBackWhenOneEnds()
    {
        var exports = new VehicleImages.Core.Export.ExportService(null!, null!, null!, Microsoft.Extensions.Logging.Abstractions.NullLogger<VehicleImages.Core.Export.ExportService>.Instance);
        var (me, other) = (Guid.NewGuid(), Guid.NewGuid());
        Assert.True(exports.TryEnter(me, 2));
        Assert.True(exports.TryEnter(me, 2));
        Assert.False(exports.TryEnter(me, 2));
        Assert.True(exports.TryEnter(other, 2));
        exports.Exit(me);
        exports.Exit(me);
        Assert.True(exports.TryEnter(me, 2)); // a user whose exports all ended starts again
    }

    [Fact]
    public void Cell_FormulaStartsAreInert_CommasAndQuotesQuoted()
    {
        Assert.Equal("'=1+1", VehicleImages.Core.Export.ExportService.Cell("=1+1"));
        Assert.Equal("'+1", VehicleImages.Core.Export.ExportService.Cell("+1"));
        Assert.Equal("'-1", VehicleImages.Core.Export.ExportService.Cell("-1"));
        Assert.Equal("'@SUM(A1)", VehicleImages.Core.Export.ExportService.Cell("@SUM(A1)"));
        Assert.Equal("\"a,b \"\"c\"\"\"", VehicleImages.Core.Export.ExportService.Cell("a,b \"c\""));
        Assert.Equal("front", VehicleImages.Core.Export.ExportService.Cell("front"));
    }
}
