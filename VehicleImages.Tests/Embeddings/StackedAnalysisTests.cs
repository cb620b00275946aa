using System.Net;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Embeddings;
using VehicleImages.Core.Processing.Monitoring;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>
/// Analysis__AnalyzeStackedPhotos on the real app, database, model and the fake provider: off, a burst of three costs
/// one provider call and the two others take the best's category and angle (source inherited), and a person picking
/// one of those as the best has it analysed; on (the default), every photo of the burst is analysed as before.
/// </summary>
public sealed class StackedAnalysisTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(FakeOpenAiServer Fake, string Cs, TestApp App)> StartAsync(bool analyzeStacked)
    {
        var fake = await FakeOpenAiServer.StartAsync();
        fake.Tier1["quality_score"] = 5; // below Tier2MinQuality: one call (tier 1) per analysed photo
        fake.AnswerDelay = TimeSpan.FromMilliseconds(800); // the burst's other photos arrive while the first is analysed
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI", ["Analysis:Endpoint"] = fake.Endpoint.ToString(), ["Analysis:ApiKey"] = "sk-test-key",
            ["Analysis:Model"] = "vision-test-model", ["Analysis:RequestsPerMinute"] = "6000",
            ["Analysis:AnalyzeStackedPhotos"] = analyzeStacked ? "true" : "false",
        });
        return (fake, cs, app);
    }

    private static async Task<Guid[]> UploadBurstAsync(TestApp app, HttpClient owner, string cs)
    {
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var medium = Bursts.Medium(Path.Combine(Bursts.VehiclesFolder, "test_089.jpg"));
        var uploaded = await UploadTests.UploadAsync(owner, vehicle,
            ("front.jpg", medium), ("front-crop.jpg", Bursts.Make(medium, "crop")), ("front-blurred.jpg", Bursts.Make(medium, "blurred")));
        var ids = uploaded.Select(u => u.ImageId!.Value).ToArray();
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo of the burst complete", TimeSpan.FromSeconds(120));
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(DISTINCT vi_image_stack(id)) FROM unnest(@ids) AS id", ("ids", ids)));
        return ids;
    }

    [Fact]
    public async Task Off_ABurstOfThree_OneProviderCall_TheOthersInheritTheBestsAngle_AndAPickedInheritedBestIsAnalysed()
    {
        var (fake, cs, app) = await StartAsync(analyzeStacked: false);
        await using var _ = fake;
        await using var __ = app;
        using var owner = await app.CreateUserClientAsync();

        var ids = await UploadBurstAsync(app, owner, cs);

        Assert.Single(fake.Calls);
        var analysed = await ImageRows.ScalarAsync<Guid>(cs, "SELECT image_id FROM vehicle_image_angles WHERE image_id = ANY(@ids) AND source = 'ai'", ("ids", ids));
        var others = ids.Where(id => id != analysed).ToArray();
        Assert.Equal(analysed, await ImageRows.ScalarAsync<Guid>(cs, "SELECT vi_stack_best(vi_image_stack(@id))", ("id", analysed)));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, """
            SELECT count(*) FROM vehicle_image_angles i
            JOIN vehicle_image_angles b ON b.image_id = @best AND b.source = 'ai'
            JOIN vehicle_images v ON v.id = i.image_id
            WHERE i.image_id = ANY(@others) AND i.source = 'inherited' AND i.category = b.category AND i.angle = b.angle
              AND v.ai_scan_metadata->>'inherited_from' = @best::text AND NOT (v.ai_scan_metadata ? 'tier_1_analysis')
            """, ("best", analysed), ("others", others)));
        Assert.Equal(("exterior", "front_3q_left"), (
            await ImageRows.ScalarAsync<string>(cs, "SELECT category FROM vehicle_image_angles WHERE image_id = @id", ("id", others[0])),
            await ImageRows.ScalarAsync<string>(cs, "SELECT angle FROM vehicle_image_angles WHERE image_id = @id", ("id", others[0]))));
        // The admin page's cost view counts the calls saved.
        Assert.Equal(2L, await app.Services.GetRequiredService<ProcessingReports>().InheritedAsync(Ct));
        // No attempt was spent waiting: each photo completed on its first attempt.
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM image_processing_attempts WHERE image_id = ANY(@ids) AND outcome = 'complete' AND attempt = 1", ("ids", ids)));

        // A person picks an inherited photo as the best: it is analysed now (a second call), its answer replaces the inherited one.
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/images/{others[0]}/stack/best", null, Ct)).StatusCode);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs,
                "id = @id AND processing_status = 'complete' AND EXISTS (SELECT 1 FROM vehicle_image_angles a WHERE a.image_id = vehicle_images.id AND a.source = 'ai')",
                ("id", others[0])) == 1,
            "the picked best analysed", TimeSpan.FromSeconds(60));
        Assert.Equal(2, fake.Calls.Count);
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM vehicle_image_angles WHERE image_id = @id AND source = 'inherited'", ("id", others[0])));
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM vehicle_image_angles WHERE image_id = @id AND source = 'inherited'", ("id", others[1])));
    }

    [Fact]
    public async Task Off_PhotosArrivingWhileTheirStacksPhotoIsBeingAnalysed_WaitForItsAnswer_SpendingNoAttempt()
    {
        var (fake, cs, app) = await StartAsync(analyzeStacked: false);
        await using var _ = fake;
        await using var __ = app;
        fake.AnswerDelay = TimeSpan.FromSeconds(4); // the first photo's call is in flight while the others arrive
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var medium = Bursts.Medium(Path.Combine(Bursts.VehiclesFolder, "test_089.jpg"));

        var first = (await UploadTests.UploadAsync(owner, vehicle, ("front.jpg", medium)))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(() => Task.FromResult(!fake.Calls.IsEmpty), "the first photo's provider call");
        var later = (await UploadTests.UploadAsync(owner, vehicle,
            ("front-crop.jpg", Bursts.Make(medium, "crop")), ("front-blurred.jpg", Bursts.Make(medium, "blurred")))).Select(u => u.ImageId!.Value).ToArray();
        var ids = later.Prepend(first).ToArray();
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo complete", TimeSpan.FromSeconds(120));

        Assert.Single(fake.Calls);
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, """
            SELECT count(*) FROM vehicle_image_angles a JOIN vehicle_images v ON v.id = a.image_id
            WHERE a.image_id = ANY(@later) AND a.source = 'inherited' AND v.ai_scan_metadata->>'inherited_from' = @first::text
            """, ("later", later), ("first", first)));
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM image_processing_attempts WHERE image_id = ANY(@ids) AND outcome = 'complete' AND attempt = 1", ("ids", ids)));
    }

    [Fact]
    public async Task On_TheDefault_EveryPhotoOfABurstIsAnalysed()
    {
        var (fake, cs, app) = await StartAsync(analyzeStacked: true);
        await using var _ = fake;
        await using var __ = app;
        using var owner = await app.CreateUserClientAsync();

        var ids = await UploadBurstAsync(app, owner, cs);

        Assert.Equal(3, fake.Calls.Count);
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM vehicle_image_angles WHERE image_id = ANY(@ids) AND source = 'ai'", ("ids", ids)));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM vehicle_image_angles WHERE image_id = ANY(@ids) AND source = 'inherited'", ("ids", ids)));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs,
            $"SELECT count(*) FROM vehicle_images WHERE id = ANY(@ids) AND ai_scan_metadata ? '{StackedAnalysis.Marker}'", ("ids", ids)));
    }
}
