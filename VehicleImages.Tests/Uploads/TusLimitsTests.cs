using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Uploads;

/// <summary>
/// Unfinished tus uploads inside the limits (issue 24, item 2): a creation reserves its Upload-Length
/// against the stored-bytes quota, an account holds a bounded number of them, an empty PATCH keeps
/// nothing alive, and chunks have a rate of their own. The real app on loopback, real PostgreSQL.
/// </summary>
public sealed class TusLimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(Dictionary<string, string?> settings, FakeTimeProvider? clock = null)
    {
        settings["Processing:Workers"] = "0";
        return await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), settings,
            clock is null ? null : s => s.AddSingleton<TimeProvider>(clock));
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString()!;

    private static string Expires(HttpResponseMessage response) => response.Headers.GetValues("Upload-Expires").Single();

    private static async Task<HttpStatusCode> DeleteAsync(HttpClient client, string url)
    {
        using var delete = Tus.Request(HttpMethod.Delete, url);
        return (await client.SendAsync(delete, Ct)).StatusCode;
    }

    [Fact]
    public async Task Creation_ReservesItsLengthAgainstStoredBytes_413WithTheReason_ReleasedWhenItEndsOrExpires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await StartAsync(new() { ["Quotas:MaxStoredBytes"] = "20000", ["Upload:ResumableExpiryHours"] = "1" }, clock);
        const string email = "quota@example.test";
        var client = await app.CreateUserClientAsync(email);
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var kodak = File.ReadAllBytes(TestData.Image("exif-samples__Kodak_CX7530.jpg")); // 5,958 bytes

        // 15,000 of 20,000 bytes reserved by an upload that has not sent a byte.
        var first = await Tus.StartAsync(client, vehicleId, "first.jpg", 15000);
        var refused = await Tus.CreateAsync(client, vehicleId, "second.jpg", kodak.Length);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("Your storage is full: 0 B of your 19.5 KiB are in use (and unfinished uploads hold 14.6 KiB more) and this file needs 5.8 KiB. " +
                     "Delete photos you no longer need, finish or cancel unfinished uploads, or ask an administrator for more space.", await DetailAsync(refused));
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM resumable_uploads"));
        // The reservation holds against the multipart call too.
        var multipart = Assert.Single(await UploadTests.UploadAsync(client, vehicleId, ("kodak.jpg", kodak)));
        Assert.Equal(IngestOutcome.Rejected, multipart.Outcome);
        Assert.Contains("unfinished uploads hold 14.6 KiB", multipart.Error);

        // Terminated: its reservation goes with it.
        Assert.Equal(HttpStatusCode.NoContent, await DeleteAsync(client, first));
        var second = await Tus.StartAsync(client, vehicleId, "second.jpg", kodak.Length);

        // Finished: the photo's bytes count instead of the reservation (5,958 + 14,042 = 20,000 fits; one byte more does not).
        await Tus.SendAllAsync(client, second, kodak, 4096);
        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(client, second)).Outcome);
        var third = await Tus.StartAsync(client, vehicleId, "third.jpg", 20000 - kodak.Length);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Tus.CreateAsync(client, vehicleId, "fourth.jpg", 1)).StatusCode);

        // Expired (no sweep needed): its reservation ends with its time.
        clock.Advance(TimeSpan.FromMinutes(61));
        client.Dispose();
        client = await app.CreateUserClientAsync(email); // the token expired with the hour too
        Assert.Equal(HttpStatusCode.Gone, (await Tus.HeadAsync(client, third)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Tus.CreateAsync(client, vehicleId, "fifth.jpg", 20000 - kodak.Length)).StatusCode);
        client.Dispose();
    }

    [Fact]
    public async Task Creation_PastMaxUnfinishedPerUser_Answers403WithTheReason_PerAccount()
    {
        await using var app = await StartAsync(new() { ["Upload:MaxUnfinishedPerUser"] = "2" });
        using var client = await app.CreateUserClientAsync();
        using var neighbour = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var first = await Tus.StartAsync(client, vehicleId, "1.jpg", 1000);
        await Tus.StartAsync(client, vehicleId, "2.jpg", 1000);

        var refused = await Tus.CreateAsync(client, vehicleId, "3.jpg", 1000);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.StartsWith("You have 2 unfinished uploads, the most one account may hold (2). Finish or cancel some of them", await DetailAsync(refused));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM resumable_uploads"));
        // Another account has its own count; one ended makes room again.
        await Tus.StartAsync(neighbour, await UploadTests.CreateVehicleAsync(neighbour), "theirs.jpg", 1000);
        Assert.Equal(HttpStatusCode.NoContent, await DeleteAsync(client, first));
        await Tus.StartAsync(client, vehicleId, "3.jpg", 1000);
    }

    [Fact]
    public async Task Creations_AtOnce_TogetherNeverPassTheQuotaOrTheCap()
    {
        await using var app = await StartAsync(new() { ["Quotas:MaxStoredBytes"] = "20000", ["Upload:MaxUnfinishedPerUser"] = "3" });
        using var client = await app.CreateUserClientAsync();
        using var other = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var theirs = await UploadTests.CreateVehicleAsync(other);

        // Eight creations of 15,000 bytes at once: one fits in 20,000. Eight of 1,000 at once: three fit under the cap.
        var large = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Tus.CreateAsync(client, vehicleId, $"large-{i}.jpg", 15000)));
        var small = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Tus.CreateAsync(other, theirs, $"small-{i}.jpg", 1000)));

        Assert.Equal(1, large.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(large.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode));
        Assert.Equal(3, small.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(small.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        Assert.Equal(4L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM resumable_uploads"));
    }

    [Fact]
    public async Task EmptyPatch_RenewsNothing_BytesStillDo()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await StartAsync(new(), clock);
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = File.ReadAllBytes(TestData.Image("exif-samples__Kodak_CX7530.jpg"));
        var url = await Tus.StartAsync(client, vehicleId, "kodak.jpg", file.Length);
        var sent = await Tus.PatchAsync(client, url, 0, file[..1000]);
        Assert.Equal(HttpStatusCode.NoContent, sent.StatusCode);
        var expires = Expires(sent);

        clock.Advance(TimeSpan.FromMinutes(30));
        var empty = await Tus.PatchAsync(client, url, 1000, []);

        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        Assert.Equal(1000L, Tus.Offset(empty));
        Assert.Equal(expires, Expires(empty));
        Assert.Equal(expires, Expires(await Tus.HeadAsync(client, url)));
        // A chunk with bytes moves the expiry on from now.
        var more = await Tus.PatchAsync(client, url, 1000, file[1000..2000]);
        Assert.Equal(DateTimeOffset.Parse(expires) + TimeSpan.FromMinutes(30), DateTimeOffset.Parse(Expires(more)));
    }

    [Fact]
    public async Task Patches_PastUploadPatchesPerMinute_Answer429WithRetryAfter_HeadStillAnswers()
    {
        await using var app = await StartAsync(new() { ["RateLimits:UploadPatchesPerMinute"] = "1" });
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = File.ReadAllBytes(TestData.Image("exif-samples__Kodak_CX7530.jpg"));
        var url = await Tus.StartAsync(client, vehicleId, "kodak.jpg", file.Length);
        Assert.Equal(HttpStatusCode.NoContent, (await Tus.PatchAsync(client, url, 0, file[..1000])).StatusCode);

        var limited = await Tus.PatchAsync(client, url, 1000, file[1000..2000]);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        Assert.StartsWith("Too many upload chunks from your account in the last minute; try again in ", await DetailAsync(limited));
        Assert.Equal(1000L, Tus.Offset(await Tus.HeadAsync(client, url)));
    }
}
