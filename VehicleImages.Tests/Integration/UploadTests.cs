using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Images;
using VehicleImages.Core.Ingest;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Uploads;

namespace VehicleImages.Tests.Integration;

public sealed class UploadTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static MultipartFormDataContent Files(params (string Name, byte[] Bytes)[] files)
    {
        var content = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            // The declared type is a lie on purpose: the server must sniff the bytes.
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Add(part, "files", name);
        }

        return content;
    }

    internal static async Task<Guid> CreateVehicleAsync(HttpClient client, string name = "Test car")
    {
        var response = await client.PostAsJsonAsync("api/vehicles", new { name }, Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<VehicleResponse>(Ct))!.Id;
    }

    internal static async Task<IngestResult[]> UploadAsync(HttpClient client, Guid vehicleId, params (string Name, byte[] Bytes)[] files)
    {
        var response = await client.PostAsync($"api/vehicles/{vehicleId}/images", Files(files), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<UploadResponse>(Ct))!.Results.ToArray();
    }

    private static (string, byte[]) Real(string file) => (file, File.ReadAllBytes(TestData.Image(file)));
    private static (string, byte[]) Bad(string file) => (file, File.ReadAllBytes(TestData.BadFile(file)));

    private int StoredFileCount(string folder)
    {
        var path = Path.Combine(fixture.App.StorageRoot, folder);
        return Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories).Length : 0;
    }

    private async Task<long> RowCountAsync(Guid vehicleId)
    {
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM vehicle_images WHERE vehicle_id = @v", connection);
        cmd.Parameters.AddWithValue("v", vehicleId);
        return (long)(await cmd.ExecuteScalarAsync(Ct))!;
    }

    [Fact]
    public async Task Upload_EveryRealCameraFile_CreatedWithOrientedSizeAndThreeVariants()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var expected = TestData.Expected();

        var results = await UploadAsync(client, vehicleId, expected.Select(e => Real(e.GetProperty("file").GetString()!)).ToArray());

        Assert.All(results, r => Assert.True(r.Outcome == IngestOutcome.Created, $"{r.FileName}: {r.Outcome} {r.Error}"));
        Assert.Equal(expected.Select(e => e.GetProperty("file").GetString()), results.Select(r => r.FileName));
        var list = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images", Ct);
        Assert.Equal(expected.Count, list!.Count);
        foreach (var e in expected)
        {
            var image = list.Single(i => i.FileName == e.GetProperty("file").GetString());
            Assert.Equal((e.GetProperty("oriented_width").GetInt32(), e.GetProperty("oriented_height").GetInt32()), (image.Width, image.Height));
            Assert.Equal("pending", image.ProcessingStatus);
            Assert.Equal(("unknown", "unknown"), (image.Category, image.Angle));
        }

        // The first photo of a vehicle is its primary, and only one is.
        Assert.Single(list, i => i.IsPrimary);
        Assert.Equal(results[0].ImageId, list.Single(i => i.IsPrimary).Id);
    }

    [Fact]
    public async Task Upload_OriginalAndVariants_ServedWithRightTypesAndNoMetadata()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        const string withGps = "exif-samples__DSCN0010.jpg";
        var original = File.ReadAllBytes(TestData.Image(withGps));
        var id = (await UploadAsync(client, vehicleId, (withGps, original)))[0].ImageId!.Value;

        var stored = await client.GetAsync($"api/images/{id}/original", Ct);
        Assert.Equal("image/jpeg", stored.Content.Headers.ContentType!.MediaType);
        // The original is kept byte for byte.
        Assert.Equal(original, await stored.Content.ReadAsByteArrayAsync(Ct));

        foreach (var variant in new[] { "thumb", "medium", "large" })
        {
            var response = await client.GetAsync($"api/images/{id}/{variant}", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Contains("immutable", response.Headers.CacheControl!.ToString());
            var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
            using var image = NetVips.Image.NewFromBuffer(bytes);
            // GPS and every other metadata block stay out of the variants.
            Assert.DoesNotContain(image.GetFields(), f => f.StartsWith("exif") || f.StartsWith("xmp") || f.Contains("gps", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(-1, bytes.AsSpan().IndexOf("Exif\0\0"u8));
        }

        var missing = await client.GetAsync($"api/images/{id}/huge", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Upload_BadFilesBesideAGoodOne_EachGetsItsOwnAnswerAndNothingIsLeftBehind()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var originalsBefore = StoredFileCount("originals");

        (string, byte[])[] files =
        [
            Bad("truncated_libvips.jpg"), Bad("its_bad_header.jpg"), Bad("bomb_pillow.gif"), Bad("broken_chunk.png"),
            Bad("heic_clap_divzero.heic"), Real("exif-samples__Canon_40D.jpg"), Bad("bad_exif_hopper.jpg"),
            Bad("polyglot_jpeg_mp3.jpg"), ("notes.txt", "just some text"u8.ToArray()), ("empty.jpg", []),
            ("image.svg", "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"u8.ToArray()),
        ];
        var results = await UploadAsync(client, vehicleId, files);

        var byName = results.ToDictionary(r => r.FileName);
        Assert.Contains("truncated", byName["truncated_libvips.jpg"].Error);
        Assert.Contains("not an image we can read", byName["its_bad_header.jpg"].Error);
        Assert.Equal(IngestOutcome.Rejected, byName["bomb_pillow.gif"].Outcome);
        Assert.Contains("not an image we can read", byName["broken_chunk.png"].Error);
        Assert.Contains("HEIC file could not be decoded", byName["heic_clap_divzero.heic"].Error);
        Assert.Contains("not an image we can read", byName["notes.txt"].Error);
        Assert.Contains("empty", byName["empty.jpg"].Error);
        Assert.Contains("not an image we can read", byName["image.svg"].Error);
        Assert.All(results.Where(r => r.Outcome == IngestOutcome.Rejected), r => Assert.Null(r.ImageId));
        Assert.Equal(IngestOutcome.Created, byName["exif-samples__Canon_40D.jpg"].Outcome);
        Assert.Equal(IngestOutcome.Created, byName["bad_exif_hopper.jpg"].Outcome);
        Assert.Equal(IngestOutcome.Created, byName["polyglot_jpeg_mp3.jpg"].Outcome);

        Assert.Equal(3, await RowCountAsync(vehicleId));
        // Stored files are named by content: a rejected file's bytes are nowhere in the store.
        var stored = Directory.GetFiles(fixture.App.StorageRoot, "*", SearchOption.AllDirectories);
        foreach (var (name, bytes) in files)
        {
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            var kept = results.Single(r => r.FileName == name).Outcome == IngestOutcome.Created;
            Assert.Equal(kept ? 4 : 0, stored.Count(f => f.Contains(sha)));
        }

        Assert.True(StoredFileCount("originals") >= originalsBefore + 2);
        Assert.Equal(0, StoredFileCount("tmp"));
    }

    [Theory]
    [MemberData(nameof(TestData.ExpectedFileNames), MemberType = typeof(TestData))]
    public async Task Detail_RealCameraFile_ExifMatchesTheIndependentReader(string file) =>
        await AssertExifMatchesTheIndependentReaderAsync(TestData.ExpectedFor(file), Real(file));

    /// <summary>
    /// The real camera files that carry EXIF, as AVIF: libvips re-encodes the pixels (AV1) and keeps the EXIF
    /// block, so the independent reader's values for the source file are what the AVIF must show.
    /// (../shared/testdata has no AVIF of its own.)
    /// </summary>
    public static TheoryData<string> CameraFilesWithExif()
    {
        var data = new TheoryData<string>();
        foreach (var e in TestData.Expected())
            if (e.GetProperty("format").GetString() == "JPEG" && e.GetProperty("make").ValueKind == JsonValueKind.String)
                data.Add(e.GetProperty("file").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(CameraFilesWithExif))]
    public async Task Detail_RealCameraFileAsAvif_ExifMatchesTheIndependentReader(string file)
    {
        var avif = Path.Combine(Path.GetTempPath(), $"vi-{Guid.NewGuid():N}.avif");
        try
        {
            using (var image = NetVips.Image.NewFromFile(TestData.Image(file)))
                image.Heifsave(avif, compression: NetVips.Enums.ForeignHeifCompression.Av1, q: 40, effort: 0, keep: NetVips.Enums.ForeignKeep.Exif);
            var bytes = await File.ReadAllBytesAsync(avif, Ct);
            Assert.Equal("avif"u8.ToArray(), bytes[8..12]);

            await AssertExifMatchesTheIndependentReaderAsync(TestData.ExpectedFor(file), (Path.ChangeExtension(file, ".avif"), bytes));
        }
        finally
        {
            File.Delete(avif);
        }
    }

    private async Task AssertExifMatchesTheIndependentReaderAsync(JsonElement expected, (string Name, byte[] Bytes) upload)
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var result = (await UploadAsync(client, vehicleId, upload))[0];
        Assert.True(result.Outcome == IngestOutcome.Created, $"{result.FileName}: {result.Outcome} {result.Error}");
        var id = result.ImageId!.Value;

        var detail = await client.GetFromJsonAsync<JsonElement>($"api/images/{id}", Ct);

        var exif = detail.GetProperty("exif");
        string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        Assert.Equal(Text(expected, "make"), Text(exif, "make"));
        Assert.Equal(Text(expected, "model"), Text(exif, "model"));
        Assert.Equal(Text(expected, "date_time_original"), Text(exif, "dateTimeOriginal"));
        foreach (var (mine, theirs) in new[] { ("gpsLatitude", "gps_lat"), ("gpsLongitude", "gps_lon") })
        {
            var (a, b) = (Number(exif, mine), Number(expected, theirs));
            Assert.Equal(b is null, a is null);
            if (a is not null)
                Assert.Equal(b!.Value, a.Value, 1e-4);
        }

        if (Text(expected, "date_time_original") is { } raw && Text(expected, "offset_time_original") is null)
            Assert.Equal(DateTime.ParseExact(raw, "yyyy:MM:dd HH:mm:ss", null), detail.GetProperty("takenAt").GetDateTimeOffset().UtcDateTime);
    }

    [Fact]
    public async Task Upload_TruncatedHeicAndCutCameraJpegs_TruncatedRejectedAndAFewMissingRowsKeptWithAWarning()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var heic = File.ReadAllBytes(TestData.Image("exif-samples__iphone_13_pro_max.HEIC"));

        var results = await UploadAsync(client, vehicleId,
            ("cut.heic", heic[..(heic.Length * 3 / 4)]),
            ("missing-24-rows.jpg", GeneratedImages.CameraJpegMissingLastRows(24)),
            ("missing-216-rows.jpg", GeneratedImages.CameraJpegMissingLastRows(216)));

        var byName = results.ToDictionary(r => r.FileName);
        Assert.Equal(IngestOutcome.Rejected, byName["cut.heic"].Outcome);
        Assert.StartsWith("truncated file:", byName["cut.heic"].Error);
        Assert.Equal(IngestOutcome.Rejected, byName["missing-216-rows.jpg"].Outcome);
        Assert.StartsWith("truncated file:", byName["missing-216-rows.jpg"].Error);
        Assert.Contains("10%", byName["missing-216-rows.jpg"].Error);
        var kept = byName["missing-24-rows.jpg"];
        Assert.Equal(IngestOutcome.Created, kept.Outcome);
        Assert.Equal(1, await RowCountAsync(vehicleId));

        var detail = await client.GetFromJsonAsync<JsonElement>($"api/images/{kept.ImageId}", Ct);
        Assert.Equal((3840, 2160), (detail.GetProperty("width").GetInt32(), detail.GetProperty("height").GetInt32()));
        var warning = Assert.Single(detail.GetProperty("exif").GetProperty("ingestWarnings").EnumerateArray()).GetString();
        Assert.Equal("the file ends early: the last 24 of 2160 rows (1.1%) are missing and show grey.", warning);
    }

    [Fact]
    public async Task List_FilterByCategoryAndAngle_UsesThePersonsChoiceOverTheAnalyzers()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var results = await UploadAsync(client, vehicleId, Real("exif-orientation-examples__Portrait_1.jpg"), Real("exif-orientation-examples__Portrait_2.jpg"));
        var (first, second) = (results[0].ImageId!.Value, results[1].ImageId!.Value);
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var cmd = new NpgsqlCommand("""
                INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source) VALUES
                  (@a, 'exterior', 'front', 0.6, 'ai'), (@a, 'exterior', 'rear', NULL, 'user'), (@b, 'interior', 'dashboard', 0.9, 'ai');
                """, connection);
            cmd.Parameters.AddWithValue("a", first);
            cmd.Parameters.AddWithValue("b", second);
            await cmd.ExecuteNonQueryAsync(Ct);
        }

        var rear = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images?category=exterior&angle=rear", Ct);
        var front = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images?category=exterior&angle=front", Ct);
        var interior = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images?category=interior", Ct);
        var detail = await client.GetFromJsonAsync<JsonElement>($"api/images/{first}", Ct);

        Assert.Equal([first], rear!.Select(i => i.Id));
        Assert.Empty(front!);
        Assert.Equal([second], interior!.Select(i => i.Id));
        Assert.Equal(("exterior", "rear"), (detail.GetProperty("category").GetString(), detail.GetProperty("angle").GetString()));
        Assert.Equal(["user", "ai"], detail.GetProperty("angles").EnumerateArray().Select(a => a.GetProperty("source").GetString()));
    }

    [Fact]
    public async Task Sweep_FilesWithoutARow_AreRemovedAndPhotosKept()
    {
        // What a process killed between writing files and committing its row leaves behind.
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var kept = (await UploadAsync(client, vehicleId, Real("exif-samples__Kodak_CX7530.jpg")))[0].ImageId!.Value;
        var root = fixture.App.StorageRoot;
        var orphanSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
        string[] orphanFiles =
        [
            Path.Combine(root, "originals", orphanSha[..2], orphanSha + ".jpg"),
            Path.Combine(root, "variants", orphanSha[..2], orphanSha, "thumb.jpg"),
            Path.Combine(root, "tmp", "abandoned.part"),
        ];
        var anHourAgo = DateTime.UtcNow.AddHours(-1);
        foreach (var f in orphanFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            await File.WriteAllBytesAsync(f, [1, 2, 3], Ct);
        }

        // Everything looks old, the photo's own files included: only the database decides what stays.
        foreach (var f in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(f, anHourAgo);

        var result = await fixture.App.Services.GetRequiredService<VehicleImages.Core.Storage.OrphanSweeper>()
            .SweepAsync(TimeSpan.FromMinutes(10), Ct);

        Assert.Equal((1, 2), (result.TemporaryFiles, result.OrphanFiles));
        Assert.All(orphanFiles, f => Assert.False(File.Exists(f), f));
        foreach (var variant in new[] { "original", "large", "medium", "thumb" })
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/images/{kept}/{variant}", Ct)).StatusCode);
    }

    [Fact]
    public async Task Upload_SameFileTwice_SecondIsADuplicateNamingTheFirst()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var file = Real("exif-samples__Kodak_CX7530.jpg");

        var results = await UploadAsync(client, vehicleId, file, file with { Item1 = "copy.jpg" });

        Assert.Equal(IngestOutcome.Created, results[0].Outcome);
        Assert.Equal((IngestOutcome.Duplicate, results[0].ImageId), (results[1].Outcome, results[1].ImageId));
        Assert.Equal(1, await RowCountAsync(vehicleId));
    }

    [Fact]
    public async Task Upload_SameFileSimultaneously_OneCreatedOneDuplicate()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var file = Real("exif-orientation-examples__Portrait_3.jpg");

        var both = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => UploadAsync(client, vehicleId, file)));

        var outcomes = both.Select(r => r[0]).ToList();
        Assert.Single(outcomes, r => r.Outcome == IngestOutcome.Created);
        Assert.Equal(3, outcomes.Count(r => r.Outcome == IngestOutcome.Duplicate));
        Assert.Single(outcomes.Select(r => r.ImageId).Distinct());
        Assert.Equal(1, await RowCountAsync(vehicleId));
    }

    [Fact]
    public async Task Upload_HostileFileName_IsOnlyALabel()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var bytes = File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"));

        var result = (await UploadAsync(client, vehicleId, ("..\\..\\..\\etc\\passwd<img src=x onerror=alert(1)>.jpg", bytes)))[0];

        Assert.Equal(IngestOutcome.Created, result.Outcome);
        Assert.Equal("passwd<img src=x onerror=alert(1)>.jpg", result.FileName);
        Assert.False(File.Exists(Path.Combine(fixture.App.StorageRoot, "..", "..", "..", "etc", "passwd<img src=x onerror=alert(1)>.jpg")));
        Assert.All(Directory.GetFiles(fixture.App.StorageRoot, "*", SearchOption.AllDirectories),
            f => Assert.DoesNotContain("passwd", f));
    }

    [Fact]
    public async Task Upload_NoFileParts_Is400()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);

        var empty = await client.PostAsync($"api/vehicles/{vehicleId}/images", new MultipartFormDataContent { { new StringContent("x"), "other" } }, Ct);
        var json = await client.PostAsJsonAsync($"api/vehicles/{vehicleId}/images", new { files = "x" }, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
    }

    [Fact]
    public async Task Images_OfAnotherUser_Are404_ButAdminsSeeThem()
    {
        // A database of its own, so that the first account registered here is certainly the admin.
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());
        using var admin = await app.CreateUserClientAsync();
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(owner);
        var id = (await UploadAsync(owner, vehicleId, Real("exif-samples__Canon_40D.jpg")))[0].ImageId!.Value;

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/images/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/images/{id}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicleId}/images", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"api/images/{id}", Ct)).StatusCode);
        var upload = await stranger.PostAsync($"api/vehicles/{vehicleId}/images", Files(Real("exif-samples__Kodak_CX7530.jpg")), Ct);
        Assert.Equal(HttpStatusCode.NotFound, upload.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/images/{id}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/images/{id}", Ct)).StatusCode);
    }

    [Fact]
    public async Task Delete_PrimaryPhoto_RemovesItsFilesAndPromotesTheNext()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        // Bytes after the JPEG's end marker make this file unique, so no other test shares its stored files.
        var unique = File.ReadAllBytes(TestData.Image("exif-orientation-examples__Landscape_1.jpg")).Concat(Guid.NewGuid().ToByteArray()).ToArray();
        var results = await UploadAsync(client, vehicleId, ("unique.jpg", unique), Real("exif-orientation-examples__Landscape_2.jpg"));
        var first = results[0].ImageId!.Value;
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(unique));

        var response = await client.DeleteAsync($"api/images/{first}", Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/images/{first}", Ct)).StatusCode);
        Assert.Empty(Directory.GetFiles(fixture.App.StorageRoot, $"*{sha}*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(fixture.App.StorageRoot, "variants", sha[..2], sha)) &&
            Directory.GetFiles(Path.Combine(fixture.App.StorageRoot, "variants", sha[..2], sha)).Length > 0);
        var list = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images", Ct);
        Assert.True(Assert.Single(list!).IsPrimary);
    }

    [Fact]
    public async Task Upload_FailureAfterFilesWritten_LeavesNeitherRowNorFiles()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await CreateVehicleAsync(client);
        var ingest = fixture.App.Services.GetRequiredService<ImageIngestService>();
        var originalsBefore = StoredFileCount("originals");
        var variantsBefore = StoredFileCount("variants");
        ingest.AfterFilesWritten = () => throw new IOException("disk pulled out");
        HttpResponseMessage response;
        try
        {
            response = await client.PostAsync($"api/vehicles/{vehicleId}/images", Files(Real("exif-samples__no_exif.jpg")), Ct);
        }
        finally
        {
            ingest.AfterFilesWritten = null;
        }

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(0, await RowCountAsync(vehicleId));
        Assert.Equal(originalsBefore, StoredFileCount("originals"));
        Assert.Equal(variantsBefore, StoredFileCount("variants"));
        Assert.Equal(0, StoredFileCount("tmp"));
    }
}
