using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Core.Images;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Analysis;

/// <summary>The OpenAI provider against a fake OpenAI-compatible server on loopback, through the real queue.</summary>
public sealed class TieredAnalysisTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Rig(FakeOpenAiServer Fake, TestApp App, HttpClient Client, Guid VehicleId) : IAsyncDisposable
    {
        public async Task<Guid> UploadAndWaitAsync(string file, string status = "complete", byte[]? bytes = null)
        {
            var id = (await UploadTests.UploadAsync(Client, VehicleId, (file, bytes ?? File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value;
            await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(App.ConnectionString, "id = @id AND processing_status = @s", ("id", id), ("s", status)) == 1,
                $"{file} to be {status}");
            return id;
        }

        public async Task<JsonElement> DetailAsync(Guid id) => await Client.GetFromJsonAsync<JsonElement>($"api/images/{id}", Ct);

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
            await Fake.DisposeAsync();
        }
    }

    private static async Task<Rig> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var fake = await FakeOpenAiServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis:ApiKey"] = "sk-test-key",
            ["Analysis:Model"] = "vision-test-model",
            ["Analysis:TimeoutSeconds"] = "5",
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Analysis:Tier3MinLongEdge"] = "1000",
            ["Processing:RetryDelaysSeconds:0"] = "0",
            ["Processing:MaxAttempts"] = "3",
        };
        foreach (var (k, v) in extra ?? [])
            settings[k] = v;
        var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), settings);
        var client = await app.CreateUserClientAsync();
        return new Rig(fake, app, client, await UploadTests.CreateVehicleAsync(client));
    }

    [Fact]
    public async Task Request_CarriesModelInlineImageAndStrictSchemaWithTaxonomy()
    {
        await using var rig = await StartAsync();

        await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_1.jpg");

        var call = rig.Fake.Calls.First(c => c.Tier == 1);
        var body = call.Body;
        Assert.Equal("Bearer sk-test-key", call.Authorization);
        Assert.Equal("vision-test-model", body.GetProperty("model").GetString());
        var parts = body.GetProperty("messages").EnumerateArray().Last().GetProperty("content").EnumerateArray().ToList();
        var image = parts.Single(p => p.GetProperty("type").GetString() == "image_url").GetProperty("image_url").GetProperty("url").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", image);
        // Tier 1 sees the medium variant (1024 on the long edge), never a link to the original.
        using (var sent = NetVips.Image.NewFromBuffer(Convert.FromBase64String(image["data:image/jpeg;base64,".Length..])))
            Assert.Equal(1024, Math.Max(sent.Width, sent.Height));
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        var properties = format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties");
        // Category and angle are one enum of valid pairs, so a provider obeying the schema cannot pair them wrongly.
        Assert.Equal(Taxonomy.Pairs, properties.GetProperty("view").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("exterior.front_3q_left", Taxonomy.Pairs);
        Assert.False(properties.TryGetProperty("category", out _));
        // Tiers 2 and 3 see the large variant.
        var large = rig.Fake.Calls.First(c => c.Tier == 2).Body.GetProperty("messages").EnumerateArray().Last().GetProperty("content")
            .EnumerateArray().Single(p => p.GetProperty("type").GetString() == "image_url").GetProperty("image_url").GetProperty("url").GetString()!;
        using (var sent = NetVips.Image.NewFromBuffer(Convert.FromBase64String(large["data:image/jpeg;base64,".Length..])))
            Assert.Equal(1800, Math.Max(sent.Width, sent.Height)); // the original's size: never upscaled to 2048
    }

    [Fact]
    public async Task Tiers_GatedByQualityResolutionAndSuitability_ResultsInAllThreeTables()
    {
        await using var rig = await StartAsync();
        var cs = rig.App.ConnectionString;

        // Quality 6 < 7: tier 1 only.
        rig.Fake.Tier1["quality_score"] = 6;
        var low = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_1.jpg");
        Assert.Equal([1], rig.Fake.Tiers);

        // Quality exactly 7, suitable, long edge 1800 >= 1000: all three tiers.
        rig.Fake.Tier1["quality_score"] = 7;
        var full = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_2.jpg");
        Assert.Equal([1, 1, 2, 3], rig.Fake.Tiers);

        // Long edge 640 < 1000: tier 3 skipped for resolution.
        var small = await rig.UploadAndWaitAsync("exif-samples__DSCN0010.jpg");
        Assert.Equal([1, 1, 2, 3, 1, 2], rig.Fake.Tiers);

        // Not suitable for an expert: no tier 3.
        rig.Fake.Tier1["suitable_for_expert"] = false;
        var unsuitable = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_3.jpg");
        Assert.Equal([1, 1, 2, 3, 1, 2, 1, 2], rig.Fake.Tiers);

        var lowMeta = (await rig.DetailAsync(low)).GetProperty("aiScanMetadata");
        Assert.Equal(6, lowMeta.GetProperty("tier_1_analysis").GetProperty("quality_score").GetInt32());
        Assert.False(lowMeta.TryGetProperty("tier_2_analysis", out _));
        Assert.Equal("skipped: quality below threshold", lowMeta.GetProperty("skipped").GetProperty("tier_2_analysis").GetString());
        Assert.Equal("skipped: resolution", (await rig.DetailAsync(small)).GetProperty("aiScanMetadata").GetProperty("skipped").GetProperty("tier_3_analysis").GetString());
        Assert.Equal("skipped: not suitable for expert",
            (await rig.DetailAsync(unsuitable)).GetProperty("aiScanMetadata").GetProperty("skipped").GetProperty("tier_3_analysis").GetString());

        var detail = await rig.DetailAsync(full);
        var meta = detail.GetProperty("aiScanMetadata");
        Assert.Equal(("OpenAI", "vision-test-model"), (meta.GetProperty("provider").GetString(), meta.GetProperty("model").GetString()));
        Assert.False(string.IsNullOrEmpty(meta.GetProperty("prompt_version").GetString()));
        Assert.Equal(8, meta.GetProperty("tier_3_analysis").GetProperty("condition_rating").GetInt32());
        Assert.Equal(2, meta.GetProperty("tier_2_analysis").GetProperty("components").GetArrayLength());
        Assert.Equal(1, meta.GetProperty("usage").GetProperty("tier_2_analysis").GetProperty("calls").GetInt32());
        Assert.Equal(("exterior", "front_3q_left"), (detail.GetProperty("category").GetString(), detail.GetProperty("angle").GetString()));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_spatial_metadata WHERE image_id = @id AND tier = 2", ("id", full)));
        Assert.Equal(0.1, await ImageRows.ScalarAsync<double>(cs, "SELECT bbox_x FROM image_spatial_metadata WHERE image_id = @id AND component_name = 'headlight'", ("id", full)), 6);
        Assert.Equal(4L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_image_angles WHERE source = 'ai'"));
        // The contract's status query sees them as processed.
        Assert.Equal(4L, await ImageRows.CountAsync(cs, "ai_scan_metadata->'tier_1_analysis' IS NOT NULL"));

        using var admin = rig.Client; // the first account of this database is the admin
        var usage = (await admin.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("usage").EnumerateArray()
            .ToDictionary(u => u.GetProperty("tier").GetString()!, u => u.GetProperty("calls").GetInt64());
        Assert.Equal(4, usage["tier_1_analysis"]);
        Assert.Equal(3, usage["tier_2_analysis"]);
        Assert.Equal(1, usage["tier_3_analysis"]);
    }

    [Fact]
    public async Task Retry_AfterTier2Failed_ResumesAtTier2WithoutPayingForTier1Again()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (tier, n) => tier == 2 && n == 2 ? FakeMode.ServerError : FakeMode.Ok;

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_4.jpg");

        // The 500 asked "is the provider down?": one probe with the app's own image, which it answered.
        Assert.Equal([1, 2, 2, 3], rig.Fake.Calls.Where(c => !c.IsProbe).Select(c => c.Tier));
        Assert.Single(rig.Fake.Calls, c => c.IsProbe);
        var history = (await rig.DetailAsync(id)).GetProperty("processing").GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(["retry", "complete"], history.Select(h => h.GetProperty("outcome").GetString()));
        Assert.Equal(1, history[0].GetProperty("tierReached").GetInt32());
        Assert.Contains("500", history[0].GetProperty("error").GetString());
    }

    [Fact]
    public async Task RateLimit_429FromTheProvider_HonoursRetryAfterAndSpendsNoAttempt()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (_, n) => n == 1 ? FakeMode.RateLimited : FakeMode.Ok;

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_5.jpg");

        var processing = (await rig.DetailAsync(id)).GetProperty("processing");
        Assert.Equal(1, processing.GetProperty("attempts").GetInt32());
        Assert.Equal(["complete"], processing.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("outcome").GetString()));
        Assert.Equal([1, 1, 2, 3], rig.Fake.Tiers);
    }

    [Fact]
    public async Task Answer_NotJson_IsRetriedAsTransientThenFails()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (_, _) => FakeMode.Malformed;

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_6.jpg", "failed");

        var detail = await rig.DetailAsync(id);
        Assert.Contains("malformed answer", detail.GetProperty("lastError").GetString());
        Assert.Equal(3, detail.GetProperty("processing").GetProperty("history").GetArrayLength());
        Assert.False(detail.GetProperty("aiScanMetadata").ValueKind == JsonValueKind.Object
            && detail.GetProperty("aiScanMetadata").TryGetProperty("tier_1_analysis", out _));
    }

    [Fact]
    public async Task Answer_OffTheTaxonomyAndOutOfRange_IsRepairedNotFailed()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (_, _) => FakeMode.OutOfSchema; // category "spaceship", quality_score 42

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_6.jpg");

        var detail = await rig.DetailAsync(id);
        var tier1 = detail.GetProperty("aiScanMetadata").GetProperty("tier_1_analysis");
        Assert.Equal(("unknown", "unknown"), (tier1.GetProperty("category").GetString(), tier1.GetProperty("angle").GetString()));
        Assert.Equal(10, tier1.GetProperty("quality_score").GetInt32());
        Assert.Equal(2, tier1.GetProperty("repairs").GetArrayLength());
        Assert.Equal(["complete"], detail.GetProperty("processing").GetProperty("history").EnumerateArray().Select(h => h.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task Answers_ThatObeyOurSchema_AreAlwaysAccepted()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (_, _) => FakeMode.SchemaObeying;
        var files = Enumerable.Range(1, 8).Select(i => $"exif-orientation-examples__Landscape_{i}.jpg")
            .Concat(Enumerable.Range(1, 8).Select(i => $"exif-orientation-examples__Portrait_{i}.jpg")).ToList();

        var ids = new List<Guid>();
        foreach (var file in files)
            ids.Add((await UploadTests.UploadAsync(rig.Client, rig.VehicleId, (file, File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(rig.App.ConnectionString, "processing_status IN ('complete', 'failed')") == files.Count,
            "every photo to finish");

        Assert.Equal(0L, await ImageRows.CountAsync(rig.App.ConnectionString, "processing_status = 'failed'"));
        Assert.Equal(files.Count, rig.Fake.Calls.Count(c => c.Tier == 1)); // each photo asked once: nothing was retried
        foreach (var id in ids)
        {
            var detail = await rig.DetailAsync(id);
            Assert.True(Taxonomy.IsValid(detail.GetProperty("category").GetString()!, detail.GetProperty("angle").GetString()!));
        }
    }

    [Fact]
    public async Task Unauthorized_FailsAtOnceSayingWhatToFix()
    {
        await using var rig = await StartAsync();
        rig.Fake.Script = (_, _) => FakeMode.Unauthorized;

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_7.jpg", "failed");

        var detail = await rig.DetailAsync(id);
        Assert.Contains("Analysis__ApiKey", detail.GetProperty("lastError").GetString());
        Assert.Single(rig.Fake.Calls);
    }

    [Fact]
    public async Task Timeout_SlowProvider_IsATransientFailure()
    {
        await using var rig = await StartAsync(new() { ["Analysis:TimeoutSeconds"] = "1", ["Processing:MaxAttempts"] = "1" });
        rig.Fake.SlowDelay = TimeSpan.FromSeconds(3);
        // Slow for this photo only: the probe with the app's own image is answered, so the timeout is the photo's.
        rig.Fake.ByCall = c => c.IsProbe ? FakeMode.Ok : FakeMode.Slow;

        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Landscape_8.jpg", "failed");

        Assert.Contains("timed out", (await rig.DetailAsync(id)).GetProperty("lastError").GetString());
        Assert.Single(rig.Fake.Calls, c => c.IsProbe);
    }

    [Fact]
    public async Task Categorization_ByAPerson_OutranksTheAnalyzerAndSurvivesReanalysis()
    {
        await using var rig = await StartAsync();
        var id = await rig.UploadAndWaitAsync("exif-orientation-examples__Portrait_1.jpg");

        var invalid = await rig.Client.PutAsJsonAsync($"api/images/{id}/categorization", new { category = "interior", angle = "front" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var ok = await rig.Client.PutAsJsonAsync($"api/images/{id}/categorization", new { category = "interior", angle = "dashboard" }, Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        // Re-run the analysis from scratch.
        await ImageRows.ScalarAsync<int>(rig.App.ConnectionString, """
            WITH reset AS (UPDATE vehicle_images SET processing_status = 'pending', ai_scan_metadata = NULL WHERE id = @id RETURNING id)
            INSERT INTO image_processing_jobs (image_id) SELECT id FROM reset RETURNING 1
            """, ("id", id));
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(rig.App.ConnectionString, "id = @id AND processing_status = 'complete'", ("id", id)) == 1, "re-analysis");

        var detail = await rig.DetailAsync(id);
        Assert.Equal(("interior", "dashboard"), (detail.GetProperty("category").GetString(), detail.GetProperty("angle").GetString()));
        Assert.Equal(["user", "ai"], detail.GetProperty("angles").EnumerateArray().Select(a => a.GetProperty("source").GetString()));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(rig.App.ConnectionString, "SELECT count(*) FROM vehicle_image_angles WHERE image_id = @id", ("id", id)));
        using var stranger = await rig.App.CreateUserClientAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PutAsJsonAsync($"api/images/{id}/categorization", new { category = "cargo", angle = "bed" }, Ct)).StatusCode);
    }
}
