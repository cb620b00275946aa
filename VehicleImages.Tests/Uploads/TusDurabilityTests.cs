using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Chores;

namespace VehicleImages.Tests.Uploads;

/// <summary>What an upload survives: time passing (expiry, on a fake clock), a restarted app, a killed one.</summary>
public sealed class TusDurabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly Dictionary<string, string?> NoWorkers = new() { ["Processing:Workers"] = "0" };

    private static byte[] PhotoBytes() =>
        File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg")).Concat(BitConverter.GetBytes(Random.Shared.NextInt64())).ToArray();

    private static string PartFile(string storage, string url) => Path.Combine(storage, "uploads", $"{Guid.Parse(url.Split('/')[^1]):N}.part");

    [Fact]
    public async Task Expiry_PastUploadExpires_410ThenTheSweepRemovesRowAndBytes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>(NoWorkers) { ["Upload:ResumableExpiryHours"] = "2" },
            s => s.AddSingleton<TimeProvider>(clock));
        var email = $"tus-{Guid.NewGuid():N}@example.test";
        using var client = await app.CreateUserClientAsync(email);
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = PhotoBytes();
        var url = await Tus.StartAsync(client, vehicleId, "slow.jpg", file.Length);
        var finished = await Tus.CreateAsync(client, vehicleId, "done.jpg", file.Length, file);
        var finishedUrl = finished.Headers.Location!.OriginalString.TrimStart('/');

        // The bearer token lives on the same clock (an hour): sign in again after each jump, as a person coming back would.
        async Task AdvanceAsync(TimeSpan by)
        {
            clock.Advance(by);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                (await TestApp.LoginAsync(app.CreateClient(), email, "Passw0rd!")).AccessToken);
        }

        // Each chunk moves the expiry on: an upload that keeps going never expires.
        await AdvanceAsync(TimeSpan.FromMinutes(90));
        await Tus.SendAllAsync(client, url, file[..1000], 1000);
        var head = await Tus.HeadAsync(client, url);
        Assert.Equal(clock.GetUtcNow().AddHours(2).ToString("R"), head.Headers.GetValues("Upload-Expires").Single());
        await AdvanceAsync(TimeSpan.FromMinutes(90));
        Assert.Equal(HttpStatusCode.OK, (await Tus.HeadAsync(client, url)).StatusCode);
        // The finished upload's outcome was readable for as long as an upload may wait, and no longer.
        Assert.Equal(1, await app.Services.GetRequiredService<SweepExpiredUploads>().RunAsync(Ct));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(finishedUrl, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Tus.HeadAsync(client, url)).StatusCode);

        await AdvanceAsync(TimeSpan.FromMinutes(31));
        Assert.Equal(HttpStatusCode.Gone, (await Tus.HeadAsync(client, url)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await Tus.PatchAsync(client, url, 1000, file[1000..2000])).StatusCode);
        Assert.True(File.Exists(PartFile(app.StorageRoot, url)));

        var swept = await app.Services.GetRequiredService<SweepExpiredUploads>().RunAsync(Ct);

        Assert.Equal(1, swept);
        Assert.False(File.Exists(PartFile(app.StorageRoot, url)));
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(client, url)).StatusCode);
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM resumable_uploads"));
        // The finished upload's photo is a photo like any other: expiry takes only the upload's record.
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_images"));
    }

    [Fact]
    public async Task Resume_AfterTheAppIsRestarted_OffsetKeptAndTheRestCompletesIt()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-tus-restart-").FullName;
        var file = PhotoBytes();
        string url;
        AuthenticationHeaderValue auth;
        await using (var first = await TestApp.StartAsync(cs, NoWorkers, storageRoot: storage))
        {
            using var client = await first.CreateUserClientAsync();
            auth = client.DefaultRequestHeaders.Authorization!;
            var vehicleId = await UploadTests.CreateVehicleAsync(client);
            url = await Tus.StartAsync(client, vehicleId, "half.jpg", file.Length);
            await Tus.SendAllAsync(client, url, file[..(file.Length / 2)], 8192);
        }

        await using var second = await TestApp.StartAsync(cs, NoWorkers, storageRoot: storage);
        using var again = second.CreateClient();
        again.DefaultRequestHeaders.Authorization = auth;
        var offset = Tus.Offset(await Tus.HeadAsync(again, url));
        Assert.Equal(file.Length / 2, offset);
        await Tus.SendAllAsync(again, url, file, 8192, from: offset);

        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(again, url)).Outcome);
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_images"));
        Directory.Delete(storage, recursive: true);
    }

    [Fact]
    public async Task Resume_AfterTheAppProcessIsKilledMidChunk_AtMostThatChunkIsLost()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-tus-kill-").FullName;
        var file = PhotoBytes();
        var acknowledged = file.Length / 3;
        string url;
        AuthenticationHeaderValue auth;
        await using (var child = await AppProcess.StartAsync(cs, storage))
        {
            using var client = await child.CreateUserClientAsync();
            auth = client.DefaultRequestHeaders.Authorization!;
            var vehicleId = await UploadTests.CreateVehicleAsync(client);
            url = await Tus.StartAsync(client, vehicleId, "killed.jpg", file.Length);
            await Tus.SendAllAsync(client, url, file[..acknowledged], 4096);

            // The next chunk: some bytes go out, then the sender stalls and the process dies under it.
            await Tus.KillMidChunkAsync(child, client, url, file, acknowledged, 2000);
        }

        await using var survivor = await TestApp.StartAsync(cs, NoWorkers, storageRoot: storage);
        using var again = survivor.CreateClient();
        again.DefaultRequestHeaders.Authorization = auth;
        var offset = Tus.Offset(await Tus.HeadAsync(again, url));
        // Everything acknowledged survived; of the killed chunk, nothing or what had arrived, never more.
        Assert.InRange(offset, acknowledged, acknowledged + 2000);
        await Tus.SendAllAsync(again, url, file, 16384, from: offset);

        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(again, url)).Outcome);
        var stored = await ImageRows.ScalarAsync<string>(cs, "SELECT sha256 FROM vehicle_images");
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file)), stored.Trim());
        Directory.Delete(storage, recursive: true);
    }

    [Fact]
    public async Task RateLimit_CountsCreationsNotChunks()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>(NoWorkers) { ["RateLimits:UploadsPerMinute"] = "2" });
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var file = PhotoBytes();

        // One file in many chunks: each PATCH is part of the same upload, not another one.
        var url = await Tus.StartAsync(client, vehicleId, "many-chunks.jpg", file.Length);
        await Tus.SendAllAsync(client, url, file, file.Length / 20 + 1);
        Assert.Equal(IngestOutcome.Created, (await TusProtocolTests.StatusAsync(client, url)).Outcome);

        await Tus.StartAsync(client, vehicleId, "second.jpg", file.Length);
        var third = await Tus.CreateAsync(client, vehicleId, "third.jpg", file.Length);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.True(third.Headers.RetryAfter is not null);
    }
}
