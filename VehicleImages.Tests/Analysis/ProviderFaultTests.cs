using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using VehicleImages.Core.Alerts;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Hubs;

namespace VehicleImages.Tests.Analysis;

/// <summary>
/// Outages by the ways a provider stops answering (refused, reset, timed out, DNS, TLS), seen by a
/// hub client over the whole window; and the other way round, one photo the provider cannot handle
/// while it answers every other, which is that photo's failure and no outage. Fake OpenAI-compatible
/// servers on loopback, real PostgreSQL, the real app.
/// </summary>
public sealed class ProviderFaultTests
{
    private const int BreakSeconds = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Photos = [.. Enumerable.Range(1, 8).Select(i => $"exif-orientation-examples__Landscape_{i}.jpg")];

    public enum Fault
    {
        /// <summary>The provider's port is closed: connections refused.</summary>
        Refused,

        /// <summary>Every connection reset (RST) without an answer.</summary>
        Reset,

        /// <summary>No answer until the app's own timeout (Analysis:TimeoutSeconds) gives up.</summary>
        Timeout,
    }

    /// <summary>A photo, its owner (the first account: an admin, so its hub client hears the alerts too) and what that client heard.</summary>
    private sealed class Watch : IAsyncDisposable
    {
        public required HubConnection Hub { get; init; }
        public ConcurrentQueue<ImageStatusMessage> Statuses { get; } = new();
        public ConcurrentQueue<AdminAlertMessage> Alerts { get; } = new();

        public async ValueTask DisposeAsync() => await Hub.DisposeAsync();
    }

    private static async Task<(HttpClient Client, Watch Watch)> OwnerAsync(TestApp app)
    {
        var email = $"owner-{Guid.NewGuid():N}@example.test";
        var client = await app.CreateUserClientAsync(email);
        using var anonymous = app.CreateClient();
        var token = (await TestApp.LoginAsync(anonymous, email, "Passw0rd!")).AccessToken;
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        var watch = new Watch { Hub = hub };
        hub.On<ImageStatusMessage>("ImageStatusChanged", watch.Statuses.Enqueue);
        hub.On<AdminAlertMessage>("AdminAlert", watch.Alerts.Enqueue);
        await hub.StartAsync(Ct);
        return (client, watch);
    }

    private static Dictionary<string, string?> Settings(Uri endpoint, bool shortDelays, Uri? fallback = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = endpoint.ToString(),
            ["Analysis:Model"] = "primary-model",
            ["Analysis:TimeoutSeconds"] = "2",
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Analysis:BreakSeconds"] = BreakSeconds.ToString(),
            ["Analysis:Tier3MinLongEdge"] = "100000",
        };
        if (shortDelays)
        {
            // As an operator may set them: with attempts spent on an outage, a photo would fail within seconds.
            settings["Processing:RetryDelaysSeconds:0"] = "1";
            settings["Processing:RetryDelaysSeconds:1"] = "2";
            settings["Processing:RetryDelaysSeconds:2"] = "3";
        }

        if (fallback is not null)
        {
            settings["Analysis:Fallbacks:0:Endpoint"] = fallback.ToString();
            settings["Analysis:Fallbacks:0:Model"] = "fallback-model";
        }

        return settings;
    }

    private static async Task<Guid[]> UploadAsync(HttpClient client, Guid vehicle, IEnumerable<string> files)
    {
        var ids = new List<Guid>();
        foreach (var file in files)
            ids.Add((await UploadTests.UploadAsync(client, vehicle, (file, File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value);
        return [.. ids];
    }

    private static Task WaitCompleteAsync(string cs, Guid[] ids, string what) =>
        ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            what, TimeSpan.FromSeconds(90));

    private static async Task<List<string>> AlertKindsAsync(string cs) =>
        [.. (await ImageRows.ScalarAsync<string[]?>(cs, "SELECT array_agg(kind ORDER BY kind) FROM admin_alerts")) ?? []];

    [Theory]
    [InlineData(Fault.Refused, true)]
    [InlineData(Fault.Refused, false)]
    [InlineData(Fault.Reset, true)]
    [InlineData(Fault.Reset, false)]
    [InlineData(Fault.Timeout, true)]
    [InlineData(Fault.Timeout, false)]
    public async Task Outage_MidBatch_NoPhotoEverShowsFailedNoAttemptIsSpentAndOneAlertEachWay(Fault fault, bool shortDelays)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var down = false;
        fake.Script = (_, _) => !Volatile.Read(ref down) ? FakeMode.Ok : fault == Fault.Reset ? FakeMode.Reset : FakeMode.Hang;
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake.Endpoint, shortDelays));
        var (client, watch) = await OwnerAsync(app);
        using var _ = client;
        await using var __ = watch;
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        // Successes first, then the provider goes away while more photos arrive.
        var before = await UploadAsync(client, vehicle, Photos[..2]);
        await WaitCompleteAsync(cs, before, "the photos before the outage");
        if (fault == Fault.Refused)
            await fake.ClosePortAsync();
        else
            Volatile.Write(ref down, true);
        var during = await UploadAsync(client, vehicle, Photos[2..]);
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM analysis_providers WHERE state = 'unavailable'") == 1, "the provider to be marked unavailable");
        // Long enough for every photo to spend its four attempts, had the outage been charged to them (1 + 2 + 3 s).
        await Task.Delay(TimeSpan.FromSeconds(8), Ct);
        Assert.Equal(0L, await ImageRows.CountAsync(cs, "processing_status = 'failed'"));
        Assert.Equal(0, await ImageRows.ScalarAsync<int>(cs, "SELECT coalesce(max(attempt), 0) FROM image_processing_jobs WHERE status = 'pending'"));

        if (fault == Fault.Refused)
            await fake.OpenPortAsync();
        else
            Volatile.Write(ref down, false);
        await WaitCompleteAsync(cs, during, "every photo to be analysed after the recovery");
        await ImageRows.WaitForAsync(() => Task.FromResult(watch.Alerts.Any(a => a.Kind == AlertKind.ProviderRecovered)), "the hub to hear the recovery");
        await ImageRows.WaitForAsync(() => Task.FromResult(during.All(id => watch.Statuses.Any(m => m.ImageId == id && m.ProcessingStatus == "complete"))),
            "the hub to hear every photo complete");

        // Seen live, over the whole window: never failed, never an attempt spent.
        Assert.DoesNotContain(watch.Statuses, m => m.ProcessingStatus == "failed");
        Assert.All(watch.Statuses, m => Assert.InRange(m.Attempts, 0, 1));
        Assert.Equal([AlertKind.ProviderRecovered, AlertKind.ProviderUnavailable], await AlertKindsAsync(cs));
        Assert.Equal([AlertKind.ProviderUnavailable, AlertKind.ProviderRecovered], watch.Alerts.Select(a => a.Kind));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome <> 'complete'"));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE attempt <> 1"));
        Assert.Contains(fault == Fault.Timeout ? "timed out" : "could not reach",
            await ImageRows.ScalarAsync<string>(cs, "SELECT last_error FROM analysis_providers"));
    }

    [Fact]
    public async Task Outage_WithASinglePhotoInFlight_ItWaitsWithItsAttemptAndGoesOnByItself()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake.Endpoint, shortDelays: true));
        var (client, watch) = await OwnerAsync(app);
        using var _ = client;
        await using var __ = watch;
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        // One photo alone: no other call in any window, so only the probe can tell the outage.
        await fake.ClosePortAsync();
        var id = (await UploadAsync(client, vehicle, Photos[..1]))[0];
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM analysis_providers WHERE state = 'unavailable'") == 1, "the provider to be marked unavailable");
        await Task.Delay(TimeSpan.FromSeconds(8), Ct);
        Assert.Equal(("pending", 0), (await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id)),
            await ImageRows.ScalarAsync<int>(cs, "SELECT attempt FROM image_processing_jobs WHERE image_id = @id", ("id", id))));

        await fake.OpenPortAsync();
        await WaitCompleteAsync(cs, [id], "the photo to be analysed after the recovery");
        await ImageRows.WaitForAsync(() => Task.FromResult(watch.Statuses.Any(m => m.ImageId == id && m.ProcessingStatus == "complete")),
            "the hub to hear the photo complete");

        Assert.DoesNotContain(watch.Statuses, m => m.ProcessingStatus == "failed");
        Assert.Equal(1, await ImageRows.CompletedAttemptAsync(cs, id));
        Assert.Equal([AlertKind.ProviderRecovered, AlertKind.ProviderUnavailable], await AlertKindsAsync(cs));
        // Only the app's own image probed the provider: the photo was sent once, when it was analysed.
        Assert.Equal(1, fake.Calls.Count(c => !c.IsProbe && c.Tier == 1));
    }

    [Theory]
    [InlineData("dns")]
    [InlineData("tls")]
    public async Task Outage_ByDnsOrTlsFailure_TheFallbackServesNothingIsSpentOneAlert(string failure)
    {
        await using var plain = await FakeOpenAiServer.StartAsync();
        await using var fallback = await FakeOpenAiServer.StartAsync();
        // DNS: a name that cannot resolve (RFC 2606); TLS: https to a server that speaks plain HTTP.
        var primary = failure == "dns"
            ? new Uri("http://vision-provider.invalid/v1")
            : new UriBuilder(plain.Endpoint) { Scheme = "https" }.Uri;
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(primary, shortDelays: true, fallback.Endpoint));
        var (client, watch) = await OwnerAsync(app);
        using var _ = client;
        await using var __ = watch;
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var ids = await UploadAsync(client, vehicle, Photos[..4]);
        await WaitCompleteAsync(cs, ids, "every photo to be analysed by the fallback");

        Assert.Empty(plain.Calls);
        Assert.DoesNotContain(watch.Statuses, m => m.ProcessingStatus == "failed");
        Assert.Equal("unavailable", await ImageRows.ScalarAsync<string>(cs, "SELECT state FROM analysis_providers WHERE name = 'OpenAI'"));
        Assert.Equal([AlertKind.ProviderUnavailable], await AlertKindsAsync(cs));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome <> 'complete' OR attempt <> 1"));
        Assert.Equal(["fallback-1"], await ImageRows.ScalarAsync<string[]>(cs, "SELECT array_agg(DISTINCT provider) FROM image_processing_attempts"));
    }

    [Fact]
    public async Task PoisonPhoto_500EveryTimeWhileOthersAreAnswered_FailsAfterItsAttemptsAndNothingElseWaits()
    {
        // The poison photo is the only one 777 pixels wide (its variants are never upscaled); the provider answers 500 to it every time.
        const int PoisonWidth = 777;
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.ByCall = c => c.ImageWidth == PoisonWidth ? FakeMode.ServerError : null;
        byte[] poison;
        using (var source = NetVips.Image.NewFromFile(TestData.Image("exif-orientation-examples__Landscape_1.jpg")))
        using (var small = source.ThumbnailImage(PoisonWidth))
            poison = small.JpegsaveBuffer(q: 90);
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake.Endpoint, shortDelays: true));
        var (client, watch) = await OwnerAsync(app);
        using var _ = client;
        await using var __ = watch;
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var before = await UploadAsync(client, vehicle, Photos[..3]);
        await WaitCompleteAsync(cs, before, "three good photos just before the poison");
        var bad = (await UploadTests.UploadAsync(client, vehicle, ("poison.jpg", poison)))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(() => Task.FromResult(fake.Calls.Any(c => c.ImageWidth == PoisonWidth)), "the poison photo's first call");
        var during = await UploadAsync(client, vehicle, Photos[3..]);
        await WaitCompleteAsync(cs, during, "the photos uploaded while the poison photo fails");
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'failed'", ("id", bad)) == 1,
            "the poison photo to fail");
        await ImageRows.WaitForAsync(() => Task.FromResult(watch.Statuses.Any(m => m.ImageId == bad && m.ProcessingStatus == "failed")),
            "the hub to hear the poison photo failed");

        // The poison photo spent its four attempts, each asked of the provider and named in its history, and failed with its reason.
        var failed = watch.Statuses.Last(m => m.ImageId == bad);
        Assert.Equal(("failed", 4), (failed.ProcessingStatus, failed.Attempts));
        Assert.Contains("500", failed.Error);
        Assert.Equal(4, fake.Calls.Count(c => c.ImageWidth == PoisonWidth));
        var job = await ImageRows.ScalarAsync<long>(cs, "SELECT id FROM image_processing_jobs WHERE image_id = @id", ("id", bad));
        var attempts = (await client.GetFromJsonAsync<JsonElement>($"api/admin/jobs/{job}", Ct)).GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(["retry", "retry", "retry", "failed"], attempts.Select(a => a.GetProperty("outcome").GetString()));
        Assert.All(attempts, a => Assert.Equal(("OpenAI", "primary-model"), (a.GetProperty("provider").GetString(), a.GetProperty("model").GetString())));
        // Its own alert, and no outage: the provider stayed available and every probe used the app's image.
        Assert.Equal([AlertKind.ImageFailed], await AlertKindsAsync(cs));
        Assert.Equal(bad, await ImageRows.ScalarAsync<Guid>(cs, "SELECT image_id FROM admin_alerts"));
        Assert.Equal("available", await ImageRows.ScalarAsync<string>(cs, "SELECT state FROM analysis_providers"));
        Assert.Equal(4, fake.Calls.Count(c => c.IsProbe));
        // The others never waited: one attempt each, and never pending again once they were processing.
        foreach (var id in before.Concat(during))
        {
            Assert.Equal(["complete"], await ImageRows.ScalarAsync<string[]>(cs,
                "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts WHERE image_id = @id", ("id", id)));
            var seen = watch.Statuses.Where(m => m.ImageId == id).Select(m => m.ProcessingStatus).ToList();
            Assert.DoesNotContain("pending", seen.SkipWhile(s => s != "processing"));
        }

        // Failed with a Retry: the owner's retry queues it again.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"api/images/{bad}/retry", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task Attempt_MalformedAnswer_NamesTheProviderAndModelThatSentIt()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Script = (_, n) => n == 1 ? FakeMode.Malformed : FakeMode.Ok;
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake.Endpoint, shortDelays: true));
        var (client, watch) = await OwnerAsync(app);
        using var _ = client;
        await using var __ = watch;
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var id = (await UploadAsync(client, vehicle, Photos[..1]))[0];
        await WaitCompleteAsync(cs, [id], "the photo to be analysed on its second attempt");

        var job = await ImageRows.ScalarAsync<long>(cs, "SELECT job_id FROM image_processing_attempts WHERE image_id = @id LIMIT 1", ("id", id));
        var attempts = (await client.GetFromJsonAsync<JsonElement>($"api/admin/jobs/{job}", Ct)).GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(["retry", "complete"], attempts.Select(a => a.GetProperty("outcome").GetString()));
        Assert.All(attempts, a => Assert.Equal(("OpenAI", "primary-model"), (a.GetProperty("provider").GetString(), a.GetProperty("model").GetString())));
        Assert.DoesNotContain(fake.Calls, c => c.IsProbe); // an unreadable answer is an answer: nothing to probe
    }
}
