using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Tests.Storage;

/// <summary>Instances that share only PostgreSQL and a bucket on a real S3 server, each with a disk of its own.</summary>
public sealed class S3InstancesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string Name, byte[] Bytes) Unique(string file) =>
        (file, File.ReadAllBytes(TestData.Image(file)).Concat(Guid.NewGuid().ToByteArray()).ToArray());

    private static HttpClient SameUserOn(TestApp app, HttpClient signedIn)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = signedIn.DefaultRequestHeaders.Authorization;
        return client;
    }

    [Fact]
    public async Task TwoInstances_SeparateDisks_ServeAndAnalyzeEachOthersPhotos()
    {
        var s3 = await S3Server.GetAsync();
        var settings = s3.Settings(S3Server.NewBucket());
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        // A serves pages and takes uploads; B analyzes (reading the photo from the bucket) and serves too.
        await using var a = await TestApp.StartAsync(database, new Dictionary<string, string?>(settings) { ["Processing:Workers"] = "0" });
        await using var b = await TestApp.StartAsync(database, new Dictionary<string, string?>(settings) { ["Processing:Workers"] = "1" });
        Assert.NotEqual(a.StorageRoot, b.StorageRoot);
        using var onA = await a.CreateUserClientAsync();
        using var onB = SameUserOn(b, onA);
        var vehicleId = await UploadTests.CreateVehicleAsync(onA);
        var first = Unique("exif-samples__Kodak_CX7530.jpg");
        var second = Unique("exif-orientation-examples__Landscape_2.jpg");

        var fromA = (await UploadTests.UploadAsync(onA, vehicleId, first))[0].ImageId!.Value;
        var fromB = (await UploadTests.UploadAsync(onB, vehicleId, second))[0].ImageId!.Value;

        Assert.Equal(first.Bytes, await onB.GetByteArrayAsync($"api/images/{fromA}/original", Ct));
        Assert.Equal(second.Bytes, await onA.GetByteArrayAsync($"api/images/{fromB}/original", Ct));
        foreach (var variant in new[] { "large", "medium", "thumb" })
            Assert.Equal(await onA.GetByteArrayAsync($"api/images/{fromA}/{variant}", Ct), await onB.GetByteArrayAsync($"api/images/{fromA}/{variant}", Ct));
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(database,
            "id = ANY(@ids) AND processing_status = 'complete'", ("ids", new[] { fromA, fromB })) == 2, "instance B to analyze both photos from the bucket");
        Assert.All(new[] { a.StorageRoot, b.StorageRoot }, root => Assert.False(Directory.Exists(Path.Combine(root, "originals"))));
    }
}

/// <summary>The S3 server of the test's own, stopped and started again: uploads answer 503 and keep nothing; analysis waits with its attempts.</summary>
public sealed class S3OutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_StoreStoppedMidUpload_Is503WithNothingKept_ThenSucceedsOnceItIsBack()
    {
        await using var s3 = await S3Server.StartAsync();
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var settings = s3.Settings(S3Server.NewBucket());
        await using var app = await TestApp.StartAsync(database, new Dictionary<string, string?>(settings) { ["Processing:Workers"] = "0" });
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var photo = ("outage.jpg", File.ReadAllBytes(TestData.Image("exif-samples__no_exif.jpg")).Concat(Guid.NewGuid().ToByteArray()).ToArray());
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(photo.Item2));
        var store = app.Services.GetRequiredService<IImageStore>();
        var first = (await UploadTests.UploadAsync(client, vehicleId, ("before.jpg", File.ReadAllBytes(TestData.Image("exif-orientation-examples__Landscape_6.jpg")))))[0].ImageId!.Value;

        // The body goes out in two halves; the server stops between them.
        var halfSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upload = client.PostAsync($"api/vehicles/{vehicleId}/images", new PausingContent(UploadTests.Files(photo), halfSent, goOn.Task), Ct);
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await s3.StopAsync();
        goOn.SetResult();
        var response = await upload;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("photo store is unavailable", problem.GetProperty("detail").GetString());
        Assert.Equal("storage_unavailable", problem.GetProperty("reason").GetString());
        Assert.Equal(0, await ImageRows.CountAsync(database, "vehicle_id = @v AND file_name = 'outage.jpg'", ("v", vehicleId)));
        Assert.Empty(Directory.GetFiles(Path.Combine(app.StorageRoot, "tmp")));
        var health = await app.CreateClient().GetAsync("health", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var checks = (await health.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        // Anyone may ask what is down; only an admin (the vehicle's owner is the first account, so one) reads where.
        var bucket = settings["Storage:S3:Bucket"]!;
        Assert.Equal("the photo store did not answer", checks.GetProperty("storage").GetProperty("description").GetString());
        Assert.DoesNotContain(bucket, await health.Content.ReadAsStringAsync(Ct));
        var detailed = await (await client.GetAsync("health", Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains(bucket, detailed.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync($"api/images/{first}/thumb", Ct)).StatusCode);

        await s3.StartAgainAsync();

        // Nothing of the failed upload reached the bucket; the same upload now succeeds whole.
        Assert.Null(await store.OpenReadAsync(StorageKeys.Original(sha, ".jpg"), Ct));
        var created = await UploadTests.UploadAsync(client, vehicleId, photo);
        Assert.Equal("created", created[0].Outcome);
        Assert.Equal(photo.Item2, await client.GetByteArrayAsync($"api/images/{created[0].ImageId}/original", Ct));
        var healthy = await app.CreateClient().GetAsync("health", Ct);
        Assert.True(healthy.StatusCode == HttpStatusCode.OK, await healthy.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Analysis_StoreDown_WaitsWithItsAttempts_ThenCompletes()
    {
        await using var s3 = await S3Server.StartAsync();
        var settings = s3.Settings(S3Server.NewBucket());
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var uploader = await TestApp.StartAsync(database, new Dictionary<string, string?>(settings) { ["Processing:Workers"] = "0" });
        using var client = await uploader.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var id = (await UploadTests.UploadAsync(client, vehicleId,
            ("waits.jpg", File.ReadAllBytes(TestData.Image("exif-orientation-examples__Landscape_4.jpg")).Concat(Guid.NewGuid().ToByteArray()).ToArray())))[0].ImageId!.Value;
        await s3.StopAsync();

        WorkerPool.StoreOutageDelay = TimeSpan.FromMilliseconds(300);
        var logs = new LogCapture();
        await using var worker = await TestApp.StartAsync(database,
            new Dictionary<string, string?>(settings) { ["Processing:Workers"] = "1", ["Processing:MaxAttempts"] = "2" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        // Several claims come back during the outage, more than the two attempts allowed.
        await ImageRows.WaitForAsync(() => Task.FromResult(logs.Entries.Count(e => e.Message.Contains("with its attempts")) >= 3),
            "the worker to give its claim back three times while the store is down");

        Assert.Equal(0L, await ImageRows.CountAsync(database, "id = @i AND processing_status = 'failed'", ("i", id)));
        Assert.Equal(0, await ImageRows.ScalarAsync<int>(database, "SELECT max(attempt) FROM image_processing_jobs WHERE image_id = @i AND status = 'pending'", ("i", id)));

        await s3.StartAgainAsync();

        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(database, "id = @i AND processing_status = 'complete'", ("i", id)) == 1,
            "the photo to be analyzed once the store is back");
        Assert.Equal(1, await ImageRows.CompletedAttemptAsync(database, id));
    }

    /// <summary>Sends the first half of a body, says so, and waits before sending the rest.</summary>
    private sealed class PausingContent : HttpContent
    {
        private readonly HttpContent inner;
        private readonly TaskCompletionSource halfSent;
        private readonly Task goOn;

        public PausingContent(HttpContent inner, TaskCompletionSource halfSent, Task goOn)
        {
            (this.inner, this.halfSent, this.goOn) = (inner, halfSent, goOn);
            Headers.ContentType = inner.Headers.ContentType;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var bytes = await inner.ReadAsByteArrayAsync();
            var half = bytes.Length / 2;
            await stream.WriteAsync(bytes.AsMemory(0, half));
            await stream.FlushAsync();
            halfSent.TrySetResult();
            await goOn;
            await stream.WriteAsync(bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            SerializeToStreamAsync(stream, context).GetAwaiter().GetResult();
    }
}
