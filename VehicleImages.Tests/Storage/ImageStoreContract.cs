using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Storage;

/// <summary>An app whose photos go to a folder (the default) — the contract's first store.</summary>
public sealed class FileStoreAppFixture : AppFixture;

/// <summary>An app whose photos go to a bucket of its own on the run's S3 server (created by the app at start-up).</summary>
public sealed class S3StoreAppFixture : AppFixture
{
    private Dictionary<string, string?>? _settings;

    protected override IReadOnlyDictionary<string, string?> Settings => _settings ??= S3Settings();

    private static Dictionary<string, string?> S3Settings()
    {
        var s3 = S3Server.GetAsync().GetAwaiter().GetResult();
        var settings = s3.Settings(S3Server.NewBucket());
        settings["Processing:Workers"] = "0";
        return settings;
    }
}

public sealed class FileSystemImageStoreContractTests(FileStoreAppFixture fixture) : ImageStoreContract(fixture), IClassFixture<FileStoreAppFixture>
{
    [Fact]
    public void Store_IsTheFileStore() => Assert.IsType<FileSystemImageStore>(Store);
}

public sealed class S3ImageStoreContractTests(S3StoreAppFixture fixture) : ImageStoreContract(fixture), IClassFixture<S3StoreAppFixture>
{
    [Fact]
    public void Store_IsTheS3Store() => Assert.IsType<S3ImageStore>(Store);

    [Fact]
    public async Task Upload_WritesNothingToTheLocalDiskButTemporaryFiles()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        await UploadTests.UploadAsync(client, vehicleId, Unique("exif-samples__Kodak_CX7530.jpg"));

        Assert.False(Directory.Exists(Path.Combine(fixture.App.StorageRoot, "originals")));
        Assert.False(Directory.Exists(Path.Combine(fixture.App.StorageRoot, "variants")));
        Assert.Empty(Directory.GetFiles(Path.Combine(fixture.App.StorageRoot, "tmp")));
    }
}

/// <summary>
/// What every photo store must do, run against each (the file store and S3 on a real S3 server):
/// bytes come back as written, ranges are served, deletion removes every object, the orphan sweep
/// removes objects that no row uses and keeps the rest, and a failure between writing the objects
/// and committing the row leaves neither.
/// </summary>
public abstract class ImageStoreContract(AppFixture fixture)
{
    private static readonly string[] VariantNames = ["original", "large", "medium", "thumb"];

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected IImageStore Store => fixture.App.Services.GetRequiredService<IImageStore>();

    /// <summary>A real photo made unique by bytes after its end marker, so no other test shares its objects.</summary>
    protected static (string Name, byte[] Bytes) Unique(string file) =>
        (file, File.ReadAllBytes(TestData.Image(file)).Concat(Guid.NewGuid().ToByteArray()).ToArray());

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string[] Keys(string sha) =>
        [StorageKeys.Original(sha, ".jpg"), .. new[] { "large", "medium", "thumb" }.Select(v => StorageKeys.Variant(sha, v))];

    private async Task<bool> ExistsAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync(key, Ct);
        return stream is not null;
    }

    [Fact]
    public async Task Upload_ThenRead_GivesTheSameBytesForTheOriginalAndEveryVariant()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var photo = Unique("exif-orientation-examples__Landscape_3.jpg");

        var id = (await UploadTests.UploadAsync(client, vehicleId, photo))[0].ImageId!.Value;

        // Byte for byte: an S3 body stored with aws-chunked framing would be longer.
        Assert.Equal(photo.Bytes, await client.GetByteArrayAsync($"api/images/{id}/original", Ct));
        foreach (var variant in VariantNames[1..])
        {
            var response = await client.GetAsync($"api/images/{id}/{variant}", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType!.MediaType);
            var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
            await using var stored = (await Store.OpenReadAsync(StorageKeys.Variant(Sha(photo.Bytes), variant), Ct))!;
            Assert.Equal(stored.Length, bytes.Length);
            Assert.Equal([0xFF, 0xD8], bytes[..2]);
        }
    }

    [Fact]
    public async Task Read_WithARange_AnswersThosePartialBytes()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var photo = Unique("exif-samples__Kodak_CX7530.jpg");
        var id = (await UploadTests.UploadAsync(client, vehicleId, photo))[0].ImageId!.Value;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/images/{id}/original");
        request.Headers.Range = new RangeHeaderValue(1000, 1999);

        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal((1000L, 1999L, (long)photo.Bytes.Length),
            (response.Content.Headers.ContentRange!.From!.Value, response.Content.Headers.ContentRange.To!.Value, response.Content.Headers.ContentRange.Length!.Value));
        Assert.Equal(photo.Bytes[1000..2000], await response.Content.ReadAsByteArrayAsync(Ct));

        using var tail = new HttpRequestMessage(HttpMethod.Get, $"api/images/{id}/original");
        tail.Headers.Range = new RangeHeaderValue(null, 100);
        Assert.Equal(photo.Bytes[^100..], await (await client.SendAsync(tail, Ct)).Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task Delete_RemovesEveryObjectOfThePhoto()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var photo = Unique("exif-orientation-examples__Portrait_1.jpg");
        var id = (await UploadTests.UploadAsync(client, vehicleId, photo))[0].ImageId!.Value;
        Assert.True(await ExistsAsync(Keys(Sha(photo.Bytes))[0]));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"api/images/{id}", Ct)).StatusCode);

        foreach (var key in Keys(Sha(photo.Bytes)))
            Assert.False(await ExistsAsync(key), key);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/images/{id}/thumb", Ct)).StatusCode);
    }

    [Fact]
    public async Task Sweep_ObjectsWithoutARow_AreRemovedAndPhotosKept()
    {
        // What a process killed between writing its objects and committing its row leaves behind.
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var kept = (await UploadTests.UploadAsync(client, vehicleId, Unique("exif-samples__no_exif.jpg")))[0].ImageId!.Value;
        var orphan = Sha(Guid.NewGuid().ToByteArray());
        await Store.PutBytesAsync(StorageKeys.Original(orphan, ".jpg"), new byte[] { 1, 2, 3 }, Ct);
        await Store.PutBytesAsync(StorageKeys.Variant(orphan, "thumb"), new byte[] { 4, 5, 6 }, Ct);
        await File.WriteAllBytesAsync(Store.CreateTempPath(), [7, 8, 9], Ct);

        // A negative grace makes everything look old, the kept photo's objects too: only the database decides what stays.
        var result = await fixture.App.Services.GetRequiredService<OrphanSweeper>().SweepAsync(TimeSpan.FromSeconds(-30), Ct);

        Assert.True(result.OrphanFiles >= 2, $"{result.OrphanFiles} orphans removed");
        Assert.True(result.TemporaryFiles >= 1, $"{result.TemporaryFiles} temporary files removed");
        Assert.False(await ExistsAsync(StorageKeys.Original(orphan, ".jpg")));
        Assert.False(await ExistsAsync(StorageKeys.Variant(orphan, "thumb")));
        foreach (var variant in VariantNames)
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/images/{kept}/{variant}", Ct)).StatusCode);
    }

    [Fact]
    public async Task Upload_FailureBetweenObjectsAndRow_LeavesNeitherRowNorObjects()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var photo = Unique("exif-orientation-examples__Landscape_5.jpg");
        var ingest = fixture.App.Services.GetRequiredService<ImageIngestService>();
        var written = false;
        ingest.AfterFilesWritten = async () =>
        {
            written = await ExistsAsync(Keys(Sha(photo.Bytes))[0]);
            throw new IOException("the process died here");
        };
        HttpResponseMessage response;
        try
        {
            response = await client.PostAsync($"api/vehicles/{vehicleId}/images", UploadTests.Files(photo), Ct);
        }
        finally
        {
            ingest.AfterFilesWritten = null;
        }

        Assert.True(written, "the objects were written before the row's commit");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(0, await ImageRows.CountAsync(fixture.App.ConnectionString, "vehicle_id = @v", ("v", vehicleId)));
        foreach (var key in Keys(Sha(photo.Bytes)))
            Assert.False(await ExistsAsync(key), key);
    }

    [Fact]
    public async Task Read_MissingObject_IsNull()
    {
        Assert.Null(await Store.OpenReadAsync(StorageKeys.Variant(Sha(Guid.NewGuid().ToByteArray()), "thumb"), Ct));
        await Store.DeleteAsync(StorageKeys.Variant(Sha(Guid.NewGuid().ToByteArray()), "thumb"), Ct);
    }

    [Fact]
    public async Task Health_StoreAnswers_Is200NamingEachDependency()
    {
        using var anonymous = fixture.App.CreateClient();

        var response = await anonymous.GetAsync("health", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"database\"", body);
        Assert.Contains("\"storage\"", body);
    }
}
