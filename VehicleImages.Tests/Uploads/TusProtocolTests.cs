using System.Net;
using System.Net.Http.Json;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.Storage;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Uploads.Tus;

namespace VehicleImages.Tests.Uploads;

/// <summary>tus 1.0.0 at /api/uploads with the upload's bytes on the local disk (Storage:Provider=FileSystem).</summary>
public sealed class TusProtocolTests(AppFixture fixture) : TusProtocolContract(fixture), IClassFixture<AppFixture>;

/// <summary>The same protocol with the upload's bytes in an S3 multipart upload on the run's S3 server (Storage:Provider=S3).</summary>
public sealed class TusProtocolS3Tests(S3StoreAppFixture fixture) : TusProtocolContract(fixture), IClassFixture<S3StoreAppFixture>
{
    protected override async Task<long?> StoredBytesAsync(string url) =>
        await TusS3.StoredBytesAsync(fixture.App, Guid.Parse(url.Split('/')[^1]));
}

/// <summary>tus 1.0.0 at /api/uploads against the real app: the protocol's own rules, then the ingest it ends in; run against each upload store.</summary>
public abstract class TusProtocolContract(AppFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Photo = "exif-samples__DSCN0010.jpg";

    private static byte[] PhotoBytes(int variant = 0) =>
        // Bytes after the JPEG's end marker change the hash, not the picture: a distinct file each time.
        File.ReadAllBytes(TestData.Image(Photo)).Concat(BitConverter.GetBytes(variant)).Concat(BitConverter.GetBytes(Random.Shared.NextInt64())).ToArray();

    private async Task<(HttpClient Client, Guid VehicleId)> OwnerAsync()
    {
        var client = await fixture.App.CreateUserClientAsync();
        return (client, await UploadTests.CreateVehicleAsync(client));
    }

    private Task<long> ImagesOfAsync(Guid vehicleId) =>
        ImageRows.ScalarAsync<long>(fixture.App.ConnectionString, $"SELECT count(*) FROM vehicle_images WHERE vehicle_id = '{vehicleId}'");

    /// <summary>How many bytes of the upload its store holds, or null when it holds none.</summary>
    protected virtual Task<long?> StoredBytesAsync(string url)
    {
        var file = new FileInfo(Path.Combine(fixture.App.StorageRoot, "uploads", $"{Guid.Parse(url.Split('/')[^1]):N}.part"));
        return Task.FromResult(file.Exists ? file.Length : (long?)null);
    }

    internal static async Task<UploadStatusResponse> StatusAsync(HttpClient client, string url) =>
        (await client.GetFromJsonAsync<UploadStatusResponse>(url, Ct))!;

    [Fact]
    public async Task Options_Anonymous_NamesVersionExtensionsMaxSizeAndSha1()
    {
        using var client = fixture.App.CreateClient();
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "api/uploads"), Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", response.Headers.GetValues("Tus-Resumable").Single());
        Assert.Contains("1.0.0", response.Headers.GetValues("Tus-Version").Single());
        var extensions = response.Headers.GetValues("Tus-Extension").Single().Split(',');
        Assert.Superset(new HashSet<string> { "creation", "creation-with-upload", "termination", "expiration", "checksum" }, extensions.ToHashSet());
        Assert.Equal((50L * 1024 * 1024).ToString(), response.Headers.GetValues("Tus-Max-Size").Single());
        Assert.Contains("sha1", response.Headers.GetValues("Tus-Checksum-Algorithm").Single().Split(','));
    }

    [Fact]
    public async Task Upload_InChunksWithChecksums_OffsetsAdvanceAndOneImageIsCreated()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();
        var created = await Tus.CreateAsync(client, vehicleId, "IMG_1.jpg", file.Length);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("1.0.0", created.Headers.GetValues("Tus-Resumable").Single());
        Assert.True(DateTimeOffset.TryParse(created.Headers.GetValues("Upload-Expires").Single(), out var expires));
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));
        var url = created.Headers.Location!.OriginalString.TrimStart('/');
        Assert.Matches("^api/uploads/[0-9a-f-]{36}$", url);

        var head = await Tus.HeadAsync(client, url);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(0, Tus.Offset(head));
        Assert.Equal(file.Length.ToString(), head.Headers.GetValues("Upload-Length").Single());
        Assert.Equal("no-store", head.Headers.CacheControl!.ToString());
        Assert.Equal("uploading", (await StatusAsync(client, url)).Outcome);

        await Tus.SendAllAsync(client, url, file, 16 * 1024);

        var status = await StatusAsync(client, url);
        Assert.Equal((IngestOutcome.Created, file.Length, file.Length), (status.Outcome, status.Offset, status.Length));
        Assert.NotNull(status.ImageId);
        Assert.Equal("IMG_1.jpg", status.FileName);
        Assert.Equal(1, await ImagesOfAsync(vehicleId));
        var image = await client.GetFromJsonAsync<System.Text.Json.JsonElement>($"api/images/{status.ImageId}", Ct);
        Assert.Equal("IMG_1.jpg", image.GetProperty("fileName").GetString());
        Assert.True(await StoredBytesAsync(url) is null, "the upload's bytes stay behind after the ingest");
        // The final PATCH retried after the server finished: the same offset again, still one image.
        var retried = await Tus.PatchAsync(client, url, file.Length, []);
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        Assert.Equal(file.Length, Tus.Offset(retried));
        Assert.Equal(1, await ImagesOfAsync(vehicleId));
    }

    [Fact]
    public async Task CreationWithUpload_WholeFileOnThePost_CreatedAndASecondCopyIsADuplicate()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();

        var first = await Tus.CreateAsync(client, vehicleId, "a.jpg", file.Length, file);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(file.Length, Tus.Offset(first));
        var created = await StatusAsync(client, first.Headers.Location!.OriginalString.TrimStart('/'));
        Assert.Equal(IngestOutcome.Created, created.Outcome);

        var second = await Tus.CreateAsync(client, vehicleId, "b.jpg", file.Length, file);
        var duplicate = await StatusAsync(client, second.Headers.Location!.OriginalString.TrimStart('/'));
        Assert.Equal((IngestOutcome.Duplicate, created.ImageId), (duplicate.Outcome, duplicate.ImageId));
        Assert.Equal(1, await ImagesOfAsync(vehicleId));
    }

    [Fact]
    public async Task Patch_WrongOffset_409AndNothingMoves()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "x.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file[..1000], 1000);

        var ahead = await Tus.PatchAsync(client, url, 2000, file[2000..3000]);
        var behind = await Tus.PatchAsync(client, url, 0, file[..1000]);

        Assert.Equal(HttpStatusCode.Conflict, ahead.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, behind.StatusCode);
        Assert.Contains("HEAD", await ahead.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1000, Tus.Offset(await Tus.HeadAsync(client, url)));
    }

    [Fact]
    public async Task Patch_ChecksumMismatch_460ChunkDiscardedThenTheRightChunkIsTaken()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "x.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file[..4096], 4096);

        var chunk = file[4096..8192];
        var wrong = await Tus.PatchAsync(client, url, 4096, chunk, Tus.Sha1(file[..4096]));

        Assert.Equal(460, (int)wrong.StatusCode);
        Assert.Contains("checksum", await wrong.Content.ReadAsStringAsync(Ct));
        Assert.Equal(4096, Tus.Offset(await Tus.HeadAsync(client, url)));
        Assert.Equal(4096L, await StoredBytesAsync(url));

        var unknown = await Tus.PatchAsync(client, url, 4096, chunk, "crc32 AAAA");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);

        await Tus.SendAllAsync(client, url, file, 64 * 1024, from: 4096);
        Assert.Equal(IngestOutcome.Created, (await StatusAsync(client, url)).Outcome);
    }

    [Fact]
    public async Task Patch_BytesBeyondUploadLength_413AndNothingOfTheChunkKept()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "x.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file[..1000], 1000);
        var tooMuch = file[1000..].Concat(new byte[10]).ToArray();

        // Declared in Content-Length, and streamed with no length (chunked): refused either way.
        var declared = await Tus.PatchAsync(client, url, 1000, tooMuch);
        using var streamed = Tus.Request(HttpMethod.Patch, url);
        streamed.Headers.Add("Upload-Offset", "1000");
        streamed.Content = new StreamContent(new UnknownLengthStream(tooMuch));
        streamed.Content.Headers.ContentType = new("application/offset+octet-stream");
        var chunked = await client.SendAsync(streamed, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Equal(1000, Tus.Offset(await Tus.HeadAsync(client, url)));
        Assert.Equal(1000L, await StoredBytesAsync(url));
        Assert.Equal(0, await ImagesOfAsync(vehicleId));
    }

    [Fact]
    public async Task Create_BadRequests_NameWhatIsWrong()
    {
        var (client, vehicleId) = await OwnerAsync();
        using var other = await fixture.App.CreateUserClientAsync();

        var tooLarge = await Tus.CreateAsync(client, vehicleId, "big.jpg", 50L * 1024 * 1024 + 1);
        var foreign = await Tus.CreateAsync(other, vehicleId, "x.jpg", 10);
        var missingVehicle = await Tus.CreateAsync(client, Guid.NewGuid(), "x.jpg", 10);
        using var noLength = Tus.Request(HttpMethod.Post, "api/uploads");
        noLength.Headers.Add("Upload-Metadata", Tus.Metadata(("vehicleId", vehicleId.ToString()), ("filename", "x.jpg")));
        var lengthMissing = await client.SendAsync(noLength, Ct);
        using var noName = Tus.Request(HttpMethod.Post, "api/uploads");
        noName.Headers.Add("Upload-Length", "10");
        noName.Headers.Add("Upload-Metadata", Tus.Metadata(("vehicleId", vehicleId.ToString())));
        var nameMissing = await client.SendAsync(noName, Ct);
        using var noVersion = new HttpRequestMessage(HttpMethod.Post, "api/uploads");
        var versionMissing = await client.SendAsync(noVersion, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missingVehicle.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, lengthMissing.StatusCode);
        Assert.Contains("Upload-Length", await lengthMissing.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, nameMissing.StatusCode);
        Assert.Contains("filename", await nameMissing.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.PreconditionFailed, versionMissing.StatusCode);
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(fixture.App.ConnectionString,
            $"SELECT count(*) FROM resumable_uploads WHERE vehicle_id = '{vehicleId}'"));
    }

    [Fact]
    public async Task AnotherAccount_EveryCallOnTheUpload_404()
    {
        var (client, vehicleId) = await OwnerAsync();
        using var other = await fixture.App.CreateUserClientAsync();
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "x.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file[..100], 100);

        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(other, url)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.PatchAsync(other, url, 100, file[100..200])).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync(url, Ct)).StatusCode);
        using var delete = Tus.Request(HttpMethod.Delete, url);
        Assert.Equal(HttpStatusCode.NotFound, (await other.SendAsync(delete, Ct)).StatusCode);
        Assert.Equal(100, Tus.Offset(await Tus.HeadAsync(client, url)));
    }

    [Fact]
    public async Task Delete_Termination_BytesAndRowGone()
    {
        var (client, vehicleId) = await OwnerAsync();
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "x.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file[..5000], 5000);
        Assert.NotNull(await StoredBytesAsync(url));

        using var delete = Tus.Request(HttpMethod.Delete, url);
        var deleted = await client.SendAsync(delete, Ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Null(await StoredBytesAsync(url));
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(client, url)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.PatchAsync(client, url, 5000, file[5000..6000])).StatusCode);
    }

    [Fact]
    public async Task Upload_NotAnImage_RejectedWithItsReasonAndNoImage()
    {
        var (client, vehicleId) = await OwnerAsync();
        var bytes = "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"u8.ToArray();

        var created = await Tus.CreateAsync(client, vehicleId, "car.jpg", bytes.Length, bytes);
        var status = await StatusAsync(client, created.Headers.Location!.OriginalString.TrimStart('/'));

        Assert.Equal(IngestOutcome.Rejected, status.Outcome);
        Assert.Contains("not an image", status.Error);
        Assert.Null(status.ImageId);
        Assert.Equal(0, await ImagesOfAsync(vehicleId));
    }

    [Fact]
    public async Task Check_KnownAndUnknownHashes_OnlyTheStoredOnesAreNamed()
    {
        var (client, vehicleId) = await OwnerAsync();
        using var other = await fixture.App.CreateUserClientAsync();
        var file = PhotoBytes();
        var created = await Tus.CreateAsync(client, vehicleId, "a.jpg", file.Length, file);
        var imageId = (await StatusAsync(client, created.Headers.Location!.OriginalString.TrimStart('/'))).ImageId;
        var known = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
        var unknown = new string('0', 64);

        var answer = await client.PostAsJsonAsync($"api/vehicles/{vehicleId}/images/check", new { sha256 = new[] { known.ToUpperInvariant(), unknown } }, Ct);
        var foreign = await other.PostAsJsonAsync($"api/vehicles/{vehicleId}/images/check", new { sha256 = new[] { known } }, Ct);
        var malformed = await client.PostAsJsonAsync($"api/vehicles/{vehicleId}/images/check", new { sha256 = new[] { "abc" } }, Ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var existing = (await answer.Content.ReadFromJsonAsync<CheckResponse>(Ct))!.Existing;
        Assert.Equal([new ExistingImage(known, imageId!.Value)], existing);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task CookieSignedPatch_WithoutAntiforgeryHeader_400AndNothingWritten()
    {
        var email = $"tus-{Guid.NewGuid():N}@example.test";
        using var bearer = await fixture.App.CreateUserClientAsync(email);
        var vehicleId = await UploadTests.CreateVehicleAsync(bearer);
        var file = PhotoBytes();
        var url = await Tus.StartAsync(bearer, vehicleId, "x.jpg", file.Length);
        using var cookie = await fixture.App.CreateCookieClientAsync(email);

        var forged = await Tus.PatchAsync(cookie, url, 0, file[..100]);
        var token = await cookie.GetFromJsonAsync<VehicleImages.Web.Security.AntiforgeryTokenResponse>("api/antiforgery/token", Ct);
        cookie.DefaultRequestHeaders.Add(token!.HeaderName, token.RequestToken);
        var signed = await Tus.PatchAsync(cookie, url, 0, file[..100]);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, signed.StatusCode);
        Assert.Equal(100, Tus.Offset(await Tus.HeadAsync(bearer, url)));
    }

    [Fact]
    public async Task FinalPatch_SentTwiceAtOnce_OneImageAndOneOutcome()
    {
        var (client, vehicleId) = await OwnerAsync();
        // A second instance on the same database and storage: the race is between processes' requests, as in production.
        await using var second = await TestApp.StartAsync(fixture.App.ConnectionString,
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" }, storageRoot: fixture.App.StorageRoot);
        using var secondClient = second.CreateClient();
        secondClient.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;

        for (var round = 0; round < 5; round++)
        {
            var file = PhotoBytes(round);
            var url = await Tus.StartAsync(client, vehicleId, $"race-{round}.jpg", file.Length);
            var last = file.Length - 1000;
            await Tus.SendAllAsync(client, url, file[..last], last);

            var answers = await Task.WhenAll(
                Tus.PatchAsync(client, url, last, file[last..]),
                Tus.PatchAsync(secondClient, url, last, file[last..]));

            Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.NoContent);
            Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.Conflict, $"answered {(int)a.StatusCode}"));
            var status = await StatusAsync(client, url);
            Assert.Equal(IngestOutcome.Created, status.Outcome);
        }

        Assert.Equal(5, await ImagesOfAsync(vehicleId));
    }

    /// <summary>A body HttpClient cannot measure, so it goes out chunked, without Content-Length.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}

