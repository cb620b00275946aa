using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Images;
using VehicleImages.Core.Uploads;
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
