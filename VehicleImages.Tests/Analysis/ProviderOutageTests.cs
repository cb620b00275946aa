using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Tests.Analysis;

/// <summary>
/// A provider's bad hour against fake OpenAI-compatible servers on loopback: outages by 500s and by
/// dropped connections, two instances sharing one database, the chain serving from a fallback.
/// </summary>
public sealed class ProviderOutageTests
{
    private const int BreakSeconds = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Photos = [.. Enumerable.Range(1, 8).Select(i => $"exif-orientation-examples__Landscape_{i}.jpg")];

    private static Dictionary<string, string?> Settings(FakeOpenAiServer primary, FakeOpenAiServer? fallback = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = primary.Endpoint.ToString(),
            ["Analysis:Model"] = "primary-model",
            ["Analysis:TimeoutSeconds"] = "5",
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Analysis:BreakSeconds"] = BreakSeconds.ToString(),
            ["Analysis:Tier3MinLongEdge"] = "100000",
            ["Processing:RetryDelaysSeconds:0"] = "1",
            ["Processing:MaxAttempts"] = "4",
        };
        if (fallback is not null)
        {
            settings["Analysis:Fallbacks:0:Endpoint"] = fallback.Endpoint.ToString();
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

    private static Task<long> AlertsAsync(string cs, string kind) =>
        ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM admin_alerts WHERE kind = @k", ("k", kind));

    [Fact]
    public async Task Outage_By500sSeenByTwoInstances_NoPhotoFailsOneAlertEachWayAndItRecoversByItself()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var down = true;
        fake.Script = (_, _) => Volatile.Read(ref down) ? FakeMode.ServerError : FakeMode.Ok;
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-outage-").FullName;
        await using var a = await TestApp.StartAsync(cs, Settings(fake), storageRoot: storage);
        await using var b = await TestApp.StartAsync(cs, Settings(fake), storageRoot: storage);
        using var admin = await a.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(admin);

        var ids = await UploadAsync(admin, vehicle, Photos);
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM analysis_providers WHERE state = 'unavailable'") == 1, "the provider to be marked unavailable");

        // During the outage: no claims and hand-backs, only the probes, and nothing failed.
        var before = fake.Calls.Count;
        await Task.Delay(TimeSpan.FromSeconds(3 * BreakSeconds), Ct);
        var during = fake.Calls.Count - before;
        Assert.InRange(during, 0, 2 * 2 * 3); // at most 2 per BreakSeconds per instance, over 3 breaks
        Assert.Equal(0L, await ImageRows.CountAsync(cs, "processing_status = 'failed'"));
        // Waiting photos hold at most one attempt; a photo claimed right now as the probe holds one more until it goes back.
        Assert.InRange(await ImageRows.ScalarAsync<int>(cs, "SELECT coalesce(max(attempt), 0) FROM image_processing_jobs WHERE status = 'pending'"), 0, 1);
        var providers = (await admin.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("providers").EnumerateArray().ToList();
        var primary = Assert.Single(providers);
        Assert.Equal(("OpenAI", "primary-model", "unavailable"),
            (primary.GetProperty("name").GetString(), primary.GetProperty("model").GetString(), primary.GetProperty("state").GetString()));
        Assert.Contains("500", primary.GetProperty("lastError").GetString());

        Volatile.Write(ref down, false);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo to be analyzed after the recovery", TimeSpan.FromSeconds(60));
        await ImageRows.WaitForAsync(async () => await AlertsAsync(cs, "provider_recovered") == 1, "the recovery alert");

        Assert.Equal(1L, await AlertsAsync(cs, "provider_unavailable"));
        Assert.Equal(1L, await AlertsAsync(cs, "provider_recovered"));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome = 'failed'"));
        Assert.Equal(0L, await AlertsAsync(cs, "image_failed"));
    }

    [Fact]
    public async Task Outage_ByDroppedConnections_PhotosWaitThenGoOnWithoutAClick()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var down = true;
        fake.Script = (_, _) => Volatile.Read(ref down) ? FakeMode.Refuse : FakeMode.Ok;
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake));
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var ids = await UploadAsync(client, vehicle, Photos[..6]);
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM analysis_providers WHERE state = 'unavailable'") == 1, "the provider to be marked unavailable");
        var error = await ImageRows.ScalarAsync<string>(cs, "SELECT last_error FROM analysis_providers");
        Assert.Contains("could not reach", error);
        Assert.Equal(0L, await ImageRows.CountAsync(cs, "processing_status = 'failed'"));

        Volatile.Write(ref down, false);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo to be analyzed after the recovery", TimeSpan.FromSeconds(60));
        Assert.Equal("available", await ImageRows.ScalarAsync<string>(cs, "SELECT state FROM analysis_providers"));
    }

    [Fact]
    public async Task Chain_PrimaryUnreachable_TheFallbackServesAndEachResultSaysWhoAnswered()
    {
        await using var primary = await FakeOpenAiServer.StartAsync();
        primary.Script = (_, _) => FakeMode.Refuse;
        await using var fallback = await FakeOpenAiServer.StartAsync();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(primary, fallback));
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var ids = await UploadAsync(client, vehicle, Photos[..6]);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo to be analyzed by the fallback", TimeSpan.FromSeconds(60));

        Assert.Equal(0L, await ImageRows.CountAsync(cs, "processing_status = 'failed'"));
        Assert.Equal([("fallback-1", "fallback-model", VehicleImages.Core.Analysis.Prompts.PromptVersion)], await ProvenanceAsync(cs));
        Assert.All(fallback.Calls, c => Assert.Equal("fallback-model", c.Body.GetProperty("model").GetString()));
        var providers = (await client.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("providers").EnumerateArray()
            .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("state").GetString())).ToList();
        Assert.Equal([("OpenAI", "unavailable"), ("fallback-1", "available")], providers);
        // Each provider keeps its own totals: the fallback answered every call that produced a result.
        var fallbackRow = (await client.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("providers")[1];
        Assert.Equal(fallback.Calls.Count, fallbackRow.GetProperty("calls").GetInt64());
        Assert.Equal(0L, (await client.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("providers")[0].GetProperty("calls").GetInt64());
        // The job explorer's timeline says who answered the completing attempt and what it cost.
        // (A completed job's id lives on in its completing attempt, ADR 017.)
        var job = await ImageRows.ScalarAsync<long>(cs,
            "SELECT job_id FROM image_processing_attempts WHERE image_id = @id AND outcome = 'complete' ORDER BY id DESC LIMIT 1", ("id", ids[0]));
        var last = (await client.GetFromJsonAsync<JsonElement>($"api/admin/jobs/{job}", Ct)).GetProperty("attempts").EnumerateArray().Last();
        Assert.Equal(("complete", "fallback-1", "fallback-model"),
            (last.GetProperty("outcome").GetString(), last.GetProperty("provider").GetString(), last.GetProperty("model").GetString()));
        Assert.Equal(2000, last.GetProperty("promptTokens").GetInt32()); // tiers 1 and 2, 1,000 each from the fake
    }

    private static async Task<List<(string, string, string)>> ProvenanceAsync(string cs)
    {
        var rows = await ImageRows.ScalarAsync<string[]>(cs, """
            SELECT array_agg(DISTINCT concat_ws('|', ai_scan_metadata->>'provider', ai_scan_metadata->>'model', ai_scan_metadata->>'prompt_version'))
            FROM vehicle_images
            """);
        return [.. rows.Select(r => r.Split('|')).Select(p => (p[0], p[1], p[2]))];
    }

    [Fact]
    public async Task Reanalysis_ByTheOwner_AsksEveryTierAgainAndKeepsThePersonsCategorization()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, Settings(fake));
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);
        var id = (await UploadAsync(client, vehicle, Photos[..1]))[0];
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 1, "the first analysis");
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"api/images/{id}/categorization", new { category = "interior", angle = "dashboard" }, Ct)).StatusCode);

        var answer = await client.PostAsync($"api/vehicles/{vehicle}/reanalyze", null, Ct);
        Assert.Equal(1, (await answer.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("queued").GetInt32());
        await ImageRows.WaitForAsync(async () => fake.Calls.Count(c => c.Tier == 1) == 2
            && await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 1, "the fresh analysis");

        var detail = await client.GetFromJsonAsync<JsonElement>($"api/images/{id}", Ct);
        Assert.Equal(("interior", "dashboard"), (detail.GetProperty("category").GetString(), detail.GetProperty("angle").GetString()));
        var meta = detail.GetProperty("aiScanMetadata");
        Assert.Equal(2, meta.GetProperty("usage").GetProperty("tier_1_analysis").GetProperty("calls").GetInt32());
        Assert.Equal("exterior", meta.GetProperty("previous_analysis").GetProperty("tier_1_analysis").GetProperty("category").GetString());
        Assert.Equal(8, meta.GetProperty("tier_1_analysis").GetProperty("quality_score").GetInt32());
        // The re-analysis job completed, so its priority is read where it now lives: its completing attempt (ADR 017).
        Assert.Equal(JobPriority.Reanalysis, await ImageRows.ScalarAsync<short>(cs,
            "SELECT priority FROM image_processing_attempts WHERE image_id = @id AND outcome = 'complete' ORDER BY id DESC LIMIT 1", ("id", id)));

        using var stranger = await app.CreateUserClientAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"api/vehicles/{vehicle}/reanalyze", null, Ct)).StatusCode);
        var none = await client.PostAsJsonAsync("api/admin/processing/reanalyze", new { promptVersionBelow = "2000" }, Ct);
        Assert.Equal(0, (await none.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("queued").GetInt32());
    }
}
