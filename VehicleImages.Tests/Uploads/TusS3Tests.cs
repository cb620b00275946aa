using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Chores;

namespace VehicleImages.Tests.Uploads;

/// <summary>What the bucket holds of an app's tus uploads, read with a client of the test's own.</summary>
internal static class TusS3
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string Bucket(TestApp app) => app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.S3.Bucket!;

    public static AmazonS3Client Client(TestApp app)
    {
        var o = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.S3;
        return new AmazonS3Client(o.AccessKey, o.SecretKey, new AmazonS3Config { ServiceURL = o.ServiceUrl!.ToString(), ForcePathStyle = true });
    }

    public static async Task<List<S3Object>> ObjectsAsync(TestApp app, string prefix)
    {
        using var s3 = Client(app);
        var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket(app), Prefix = prefix }, Ct);
        return page.S3Objects ?? [];
    }

    /// <summary>The bytes of the upload's objects (its pieces; parts in progress are not objects), or null when it has none.</summary>
    public static async Task<long?> StoredBytesAsync(TestApp app, Guid id)
    {
        var objects = await ObjectsAsync(app, S3UploadBytes.Prefix(id));
        return objects.Count == 0 ? null : objects.Sum(o => o.Size ?? 0);
    }

    public static Guid IdOf(string url) => Guid.Parse(url.Split('/')[^1]);
}

/// <summary>
/// tus uploads whose bytes live in the bucket (S3 multipart upload), against a real S3 server and
/// real app instances that share only PostgreSQL and the bucket, each with a local disk of its own.
/// </summary>
public sealed class TusS3Tests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const int MiB = 1024 * 1024;

    /// <summary>A real photo followed by <paramref name="padding"/> random bytes after its end marker: large, distinct, still a photo.</summary>
    private static byte[] LargePhoto(int padding)
    {
        var photo = File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"));
        var bytes = new byte[photo.Length + padding];
        photo.CopyTo(bytes, 0);
        Random.Shared.NextBytes(bytes.AsSpan(photo.Length));
        return bytes;
    }

    private static Dictionary<string, string?> Settings(S3Server s3, string bucket, Dictionary<string, string?>? more = null)
    {
        var settings = s3.Settings(bucket);
        settings["Processing:Workers"] = "0";
        foreach (var (k, v) in more ?? [])
            settings[k] = v;
        return settings;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string url, byte[] file, long from, int length)
    {
        var chunk = file[(int)from..(int)(from + length)];
        return await Tus.PatchAsync(client, url, from, chunk, Tus.Sha1(chunk));
    }

    private static async Task<(string? UploadId, IReadOnlyList<UploadPart> Parts)> RowAsync(string cs, Guid id) =>
        (await ImageRows.ScalarAsync<string>(cs, $"SELECT coalesce(storage_upload_id, '') FROM resumable_uploads WHERE id = '{id}'") is { Length: > 0 } u ? u : null,
         UploadParts.Parse(await ImageRows.ScalarAsync<string>(cs, $"SELECT coalesce(storage_parts::text, '') FROM resumable_uploads WHERE id = '{id}'")));

    [Fact]
    public async Task Upload_BegunOnOneInstance_ResumesAndFinishesOnAnotherWithItsOwnDisk_StoredOnce()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var a = await TestApp.StartAsync(cs, Settings(s3, bucket));
        await using var b = await TestApp.StartAsync(cs, Settings(s3, bucket));
        Assert.NotEqual(a.StorageRoot, b.StorageRoot);
        using var onA = await a.CreateUserClientAsync();
        using var onB = b.CreateClient();
        onB.DefaultRequestHeaders.Authorization = onA.DefaultRequestHeaders.Authorization;
        var vehicleId = await UploadTests.CreateVehicleAsync(onA);
        var file = LargePhoto(12 * MiB);
        var url = await Tus.StartAsync(onA, vehicleId, "big.jpg", file.Length);
        var id = TusS3.IdOf(url);

        // On A: 6 MiB (a part), 1 MiB (fewer than a part: a piece of its own), 4 MiB (after a piece: another piece).
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(onA, url, file, 0, 6 * MiB)).StatusCode);
        var (uploadId, parts) = await RowAsync(cs, id);
        Assert.NotNull(uploadId);
        Assert.Equal([(1, 6L * MiB)], parts.Select(p => (p.Number, p.Size)));
        Assert.Null(await TusS3.StoredBytesAsync(a, id));
        Assert.Equal([uploadId], s3.MultipartUploadsInProgress(bucket));
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(onA, url, file, 6 * MiB, 1 * MiB)).StatusCode);
        Assert.Equal(1L * MiB, await TusS3.StoredBytesAsync(a, id));
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(onA, url, file, 7 * MiB, 4 * MiB)).StatusCode);
        Assert.Equal(5L * MiB, await TusS3.StoredBytesAsync(a, id));
        Assert.Equal([S3UploadBytes.PieceKey(id, 6 * MiB), S3UploadBytes.PieceKey(id, 7 * MiB)],
            (await TusS3.ObjectsAsync(a, S3UploadBytes.Prefix(id))).Select(o => o.Key));
        Assert.Equal(parts, (await RowAsync(cs, id)).Parts);
        // Nothing of the upload on A's disk: B has to find it all in PostgreSQL and the bucket.
        Assert.Empty(Directory.EnumerateFiles(a.StorageRoot, "*", SearchOption.AllDirectories));

        // On B: HEAD gives the offset, and the rest goes there (the last chunk finishes it).
        var offset = Tus.Offset(await Tus.HeadAsync(onB, url));
        Assert.Equal(11L * MiB, offset);
        var rest = file.Length - (int)offset;
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(onB, url, file, offset, rest - 1000)).StatusCode);

        // The final chunk to both instances at once: one of them finishes it, once.
        var last = file.Length - 1000;
        var raced = await Task.WhenAll(SendAsync(onA, url, file, last, 1000), SendAsync(onB, url, file, last, 1000));
        Assert.All(raced, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.NoContent, HttpStatusCode.Conflict }));
        Assert.Contains(raced, r => r.StatusCode == HttpStatusCode.NoContent);
        // And retried after the server finished: the whole length is there (409 names it), nothing more happens.
        var retried = await SendAsync(onA, url, file, last, 1000);
        Assert.Equal(HttpStatusCode.Conflict, retried.StatusCode);
        Assert.Equal(file.Length, Tus.Offset(retried));
        var atTheEnd = await Tus.PatchAsync(onB, url, file.Length, []);
        Assert.Equal(HttpStatusCode.NoContent, atTheEnd.StatusCode);
        Assert.Equal(file.Length, Tus.Offset(atTheEnd));

        var status = await TusProtocolTests.StatusAsync(onA, url);
        Assert.Equal(IngestOutcome.Created, status.Outcome);
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_images"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), (await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images")).Trim());
        // The original, byte for byte, served by the other instance from the bucket.
        Assert.Equal(file, await onB.GetByteArrayAsync($"api/images/{status.ImageId}/original", Ct));
        // The upload's objects and its multipart upload are gone; the photo's objects are the bucket's only ones.
        Assert.Empty(await TusS3.ObjectsAsync(a, "uploads/"));
        Assert.Empty(s3.MultipartUploadsInProgress(bucket));
        Assert.NotEmpty(await TusS3.ObjectsAsync(a, "originals/"));
    }

    [Fact]
    public async Task Upload_BegunWithTheOldPendingObject_FinishesAfterAnUpgrade()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(s3, bucket));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = LargePhoto(1 * MiB);
        var url = await Tus.StartAsync(client, vehicleId, "upgraded.jpg", file.Length);
        var id = TusS3.IdOf(url);
        // What the code before pieces left: the first 300,000 bytes in pending-1, counted by the row.
        using (var s3Client = TusS3.Client(app))
            await s3Client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket, Key = S3UploadBytes.PendingKey(id, 1), InputStream = new MemoryStream(file[..300_000]), UseChunkEncoding = false,
            }, Ct);
        await ImageRows.ScalarAsync<long>(cs, $"WITH u AS (UPDATE resumable_uploads SET upload_offset = 300000 WHERE id = '{id}' RETURNING 1) SELECT count(*) FROM u");

        await Tus.SendAllAsync(client, url, file, 256 * 1024, 300_000);

        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(client, url)).Outcome);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), (await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images")).Trim());
        Assert.Empty(await TusS3.ObjectsAsync(app, "uploads/"));
    }

    [Fact]
    public async Task Terminate_AbortsTheMultipartUploadAndDeletesItsObjects()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(s3, bucket));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = LargePhoto(9 * MiB);
        var url = await Tus.StartAsync(client, vehicleId, "gone.jpg", file.Length);
        var id = TusS3.IdOf(url);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 0, 6 * MiB)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 6 * MiB, 2 * MiB)).StatusCode);
        Assert.Single(s3.MultipartUploadsInProgress(bucket));
        Assert.Equal(2L * MiB, await TusS3.StoredBytesAsync(app, id));

        using var delete = Tus.Request(HttpMethod.Delete, url);
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(delete, Ct)).StatusCode);

        Assert.Empty(s3.MultipartUploadsInProgress(bucket));
        Assert.Empty(await TusS3.ObjectsAsync(app, ""));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM resumable_uploads"));
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(client, url)).StatusCode);
    }

    [Fact]
    public async Task Expiry_SweepAbortsTheMultipartUploadAndDeletesItsObjects()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(s3, bucket, new() { ["Upload:ResumableExpiryHours"] = "1" }),
            s => s.AddSingleton<TimeProvider>(clock));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = LargePhoto(9 * MiB);
        var url = await Tus.StartAsync(client, vehicleId, "late.jpg", file.Length);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 0, 6 * MiB)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 6 * MiB, 1 * MiB)).StatusCode);
        Assert.Single(s3.MultipartUploadsInProgress(bucket));
        Assert.NotEmpty(await TusS3.ObjectsAsync(app, "uploads/"));

        clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(1, await app.Services.GetRequiredService<SweepExpiredUploads>().RunAsync(Ct));

        Assert.Empty(s3.MultipartUploadsInProgress(bucket));
        Assert.Empty(await TusS3.ObjectsAsync(app, ""));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM resumable_uploads"));
    }

    [Fact]
    public async Task Chunk_CutMidway_KeepsWhatArrivedOrNothingAndTheRestCompletesIt()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(s3, bucket));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = LargePhoto(16 * MiB);
        var url = await Tus.StartAsync(client, vehicleId, "cut.jpg", file.Length);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 0, 6 * MiB)).StatusCode);

        // 7 MiB go out of a 9 MiB chunk, then the connection breaks.
        using (var request = Tus.Request(HttpMethod.Patch, url))
        {
            request.Headers.Add("Upload-Offset", (6 * MiB).ToString());
            request.Content = new StreamContent(PartialBodyStream.Breaking(file[(6 * MiB)..(15 * MiB)], 7 * MiB));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            request.Content.Headers.ContentLength = 9 * MiB;
            await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(request, Ct));
        }

        // Without a checksum what arrived may be kept; never more than arrived, never less than before.
        var offset = await ResumeAsync(client, url, file, 4 * MiB);
        Assert.InRange(offset, 6L * MiB, 13L * MiB);

        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(client, url)).Outcome);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), (await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images")).Trim());
        Assert.Empty(s3.MultipartUploadsInProgress(bucket));
        Assert.Empty(await TusS3.ObjectsAsync(app, "uploads/"));
    }

    [Fact]
    public async Task Resume_AfterTheAppProcessIsKilledMidChunk_ThatChunkIsLostAndNothingElse()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var file = LargePhoto(12 * MiB);
        var acknowledged = 7 * MiB + 12345;
        string url;
        AuthenticationHeaderValue auth;
        await using (var child = await AppProcess.StartAsync(cs, Directory.CreateTempSubdirectory("vi-tus-s3-kill-").FullName, Settings(s3, bucket)))
        {
            using var client = await child.CreateUserClientAsync();
            auth = client.DefaultRequestHeaders.Authorization!;
            var vehicleId = await UploadTests.CreateVehicleAsync(client);
            url = await Tus.StartAsync(client, vehicleId, "killed.jpg", file.Length);
            Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 0, 6 * MiB)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(client, url, file, 6 * MiB, acknowledged - 6 * MiB)).StatusCode);

            await Tus.KillMidChunkAsync(child, client, url, file, acknowledged, 3 * MiB);
        }

        // Another instance, another disk: the chunk in flight was still on the dead one's disk, so exactly it is lost.
        await using var survivor = await TestApp.StartAsync(cs, Settings(s3, bucket));
        using var again = survivor.CreateClient();
        again.DefaultRequestHeaders.Authorization = auth;
        var offset = Tus.Offset(await Tus.HeadAsync(again, url));
        Assert.Equal(acknowledged, offset);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(again, url, file, offset, file.Length - (int)offset)).StatusCode);

        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(again, url)).Outcome);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), (await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images")).Trim());
        Assert.Empty(s3.MultipartUploadsInProgress(bucket));
    }

    /// <summary>
    /// What a tus client does after a break: HEAD, send from there, and on 409 (the server is still
    /// storing the broken chunk, or it moved on) HEAD again. Returns the first offset HEAD reported.
    /// </summary>
    private static async Task<long> ResumeAsync(HttpClient client, string url, byte[] file, int chunkSize)
    {
        long? first = null;
        for (var tries = 0; tries < 200; tries++)
        {
            var offset = Tus.Offset(await Tus.HeadAsync(client, url));
            first ??= offset;
            if (offset == file.Length)
                return first.Value;
            var sent = await SendAsync(client, url, file, offset, (int)Math.Min(chunkSize, file.Length - offset));
            if (sent.StatusCode == HttpStatusCode.Conflict)
            {
                first = null;
                await Task.Delay(100, Ct);
                continue;
            }

            Assert.Equal(HttpStatusCode.NoContent, sent.StatusCode);
            if (Tus.Offset(sent) == file.Length)
                return first.Value;
        }

        throw new InvalidOperationException("The upload did not finish.");
    }
}
