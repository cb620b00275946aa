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

/// <summary>Reading a stored photo back: its files with the right types and no metadata, its EXIF detail against an independent reader, the list filtered by category and angle.</summary>
public sealed class PhotoReadTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string, byte[]) Real(string file) => (file, File.ReadAllBytes(TestData.Image(file)));

    [Fact]
    public async Task Upload_OriginalAndVariants_ServedWithRightTypesAndNoMetadata()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        const string withGps = "exif-samples__DSCN0010.jpg";
        var original = File.ReadAllBytes(TestData.Image(withGps));
        var id = (await UploadTests.UploadAsync(client, vehicleId, (withGps, original)))[0].ImageId!.Value;

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
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var result = (await UploadTests.UploadAsync(client, vehicleId, upload))[0];
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
    public async Task List_FilterByCategoryAndAngle_UsesThePersonsChoiceOverTheAnalyzers()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var results = await UploadTests.UploadAsync(client, vehicleId, Real("exif-orientation-examples__Portrait_1.jpg"), Real("exif-orientation-examples__Portrait_2.jpg"));
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
}
