using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Uploads;

/// <summary>
/// What a tus PATCH costs the bucket (issue 24, item 3), measured on the wire by a proxy in front of a
/// real S3 server: each byte received is sent to the bucket once and read back once (to hand the file
/// to the ingest); an empty or refused PATCH moves nothing. And what a client hears when the bucket is down.
/// </summary>
public sealed class TusS3TrafficTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const int KiB = 1024;

    private static byte[] Photo(int padding)
    {
        var photo = File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"));
        var bytes = new byte[photo.Length + padding];
        photo.CopyTo(bytes, 0);
        Random.Shared.NextBytes(bytes.AsSpan(photo.Length));
        return bytes;
    }

    private static Dictionary<string, string?> Settings(Uri serviceUrl, string bucket)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "S3",
            ["Storage:S3:ServiceUrl"] = serviceUrl.ToString(),
            ["Storage:S3:Bucket"] = bucket,
            ["Storage:S3:AccessKey"] = S3Server.AccessKey,
            ["Storage:S3:SecretKey"] = S3Server.SecretKey,
            ["Storage:S3:TimeoutSeconds"] = "10",
            ["Processing:Workers"] = "0",
        };
        return settings;
    }

    /// <summary>Advisory locks held in this test's database: the upload's hold shows here while a PATCH has it.</summary>
    private static Task<long> HoldsAsync(string cs) => ImageRows.ScalarAsync<long>(cs,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");

    [Fact]
    public async Task Patch_SmallOrEmptyChunks_EachByteGoesToTheBucketOnce_AndTheHoldComesFirst()
    {
        var s3 = await S3Server.GetAsync();
        await using var meter = new BucketMeter(s3.ServiceUrl);
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(meter.ServiceUrl, S3Server.NewBucket()));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = Photo(2 * 1024 * KiB);
        var url = await Tus.StartAsync(client, vehicleId, "small-chunks.jpg", file.Length);

        // 1 MiB: fewer bytes than a part, so they wait in the bucket.
        Assert.Equal(HttpStatusCode.NoContent, (await Tus.PatchAsync(client, url, 0, file[..(1024 * KiB)])).StatusCode);
        Assert.Equal((1024L * KiB, 0L), (meter.Sent, meter.Fetched));

        // An empty PATCH: nothing read from the bucket, nothing written.
        var empty = await Tus.PatchAsync(client, url, 1024 * KiB, []);
        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        Assert.Equal(1024L * KiB, Tus.Offset(empty));
        Assert.Equal((1024L * KiB, 0L), (meter.Sent, meter.Fetched));

        // 256 KiB more: exactly those bytes go out; the 1 MiB already there is neither fetched nor sent again.
        Assert.Equal(HttpStatusCode.NoContent, (await Tus.PatchAsync(client, url, 1024 * KiB, file[(1024 * KiB)..(1280 * KiB)])).StatusCode);
        Assert.Equal((1280L * KiB, 0L), (meter.Sent, meter.Fetched));

        // A PATCH whose body is still arriving holds the upload; another PATCH meanwhile (empty, as in a
        // flood of them) is refused before it costs the bucket anything.
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdsBefore = await HoldsAsync(cs);
        Task<HttpResponseMessage> slow;
        using (var request = Tus.Request(HttpMethod.Patch, url))
        {
            request.Headers.Add("Upload-Offset", (1280 * KiB).ToString());
            request.Content = new StreamContent(new GatedStream(file[(1280 * KiB)..(1536 * KiB)], 100 * KiB, reached, gate.Task));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            request.Content.Headers.ContentLength = 256 * KiB;
            slow = client.SendAsync(request, Ct);
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await ImageRows.WaitForAsync(async () => await HoldsAsync(cs) > holdsBefore, "the slow PATCH to hold the upload", TimeSpan.FromSeconds(30));

            var refused = await Tus.PatchAsync(client, url, 1280 * KiB, []);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal((1280L * KiB, 0L), (meter.Sent, meter.Fetched));

            gate.SetResult();
            Assert.Equal(HttpStatusCode.NoContent, (await slow).StatusCode);
        }

        // The rest in 256 KiB chunks; then the ingest reads the file once and it is the photo, byte for byte.
        await Tus.SendAllAsync(client, url, file, 256 * KiB, 1536 * KiB);
        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(client, url)).Outcome);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), (await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images")).Trim());
        Assert.Equal(((long)file.Length, (long)file.Length), (meter.Sent, meter.Fetched));
    }

    [Fact]
    public async Task Patch_BucketDown_Answers503StorageUnavailable_NamingNeitherBucketNorAddress_TheLogHasIt()
    {
        await using var s3 = await S3Server.StartAsync();
        var bucket = S3Server.NewBucket();
        var capture = new LogCapture();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(s3.ServiceUrl, bucket), s => s.AddSingleton<ILoggerProvider>(capture));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = Photo(64 * KiB);
        var url = await Tus.StartAsync(client, vehicleId, "outage.jpg", file.Length);

        await s3.StopAsync();
        var response = await Tus.PatchAsync(client, url, 0, file[..(32 * KiB)]);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("storage is unavailable", problem.GetProperty("detail").GetString());
        var text = problem.GetRawText();
        Assert.DoesNotContain(bucket, text);
        Assert.DoesNotContain($"127.0.0.1:{s3.Port}", text);
        Assert.DoesNotContain("refused", text, StringComparison.OrdinalIgnoreCase);
        // Nothing of the chunk counts; the operator reads what failed, and where.
        Assert.Equal(0L, Tus.Offset(await Tus.HeadAsync(client, url)));
        Assert.Contains(capture.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(bucket) && e.Message.Contains($"127.0.0.1:{s3.Port}"));
        // Cancelling it still works: the upload goes, its bytes wait for the sweep.
        using var delete = Tus.Request(HttpMethod.Delete, url);
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(delete, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(client, url)).StatusCode);
    }

    /// <summary>A body that sends its first <paramref name="first"/> bytes, waits for <paramref name="gate"/>, then sends the rest.</summary>
    private sealed class GatedStream(byte[] bytes, int first, TaskCompletionSource reached, Task gate) : Stream
    {
        private int _sent;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_sent == first)
            {
                reached.TrySetResult();
                await gate.WaitAsync(cancellationToken);
            }

            var n = Math.Min(buffer.Length, (_sent < first ? first : bytes.Length) - _sent);
            bytes.AsMemory(_sent, n).CopyTo(buffer);
            _sent += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => bytes.Length;
        public override long Position { get => _sent; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
