using System.Net;
using System.Text.Json.Nodes;
using VehicleImages.Core.Analysis;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Privacy;

/// <summary>
/// Tier 1 asks for visible plates and faces with boxes; the answer is repaired like the rest (clamped into the image,
/// degenerate or foreign boxes dropped, each recorded), stored as <c>ai</c> boxes with the photo's result, and never
/// over a person's boxes.
/// </summary>
public sealed class AiPrivacyBoxesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonObject Box(string kind, double x, double y, double w, double h) =>
        new() { ["kind"] = kind, ["x"] = x, ["y"] = y, ["width"] = w, ["height"] = h };

    [Fact]
    public void Schema_Tier1_AsksForPlatesAndFacesWithBoxes()
    {
        var boxes = Prompts.Schema(Tier.Classification)["properties"]![Prompts.PrivacyBoxesKey]!;
        Assert.Equal("array", (string)boxes["type"]!);
        Assert.Equal(["plate", "face"], boxes["items"]!["properties"]!["kind"]!["enum"]!.AsArray().Select(k => (string)k!));
        Assert.Contains("number plate", Prompts.ForTier(Tier.Classification), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Tier1Boxes_ClampedIntoTheImage_DegenerateAndForeignDropped_EachRecorded()
    {
        var answer = new JsonObject
        {
            ["view"] = "exterior.front", ["quality_score"] = 7, ["suitable_for_expert"] = false, ["confidence"] = 0.9,
            ["lighting"] = "normal", ["focus"] = "sharp", ["closeup"] = false,
            [Prompts.PrivacyBoxesKey] = new JsonArray(
                Box("plate", 0.4, 0.7, 0.2, 0.06),
                Box("face", 0.9, -0.1, 0.3, 0.3),   // reaches outside: clamped to 0.9,0 0.1×0.2
                Box("plate", 0.5, 0.5, 0, 0.1),     // no area
                Box("car", 0.1, 0.1, 0.1, 0.1),     // not a plate or a face
                new JsonObject { ["kind"] = "face", ["x"] = 0.1 }), // incomplete
        };

        var parsed = TierAnswers.Parse(Tier.Classification, answer.ToJsonString());

        var boxes = TierAnswers.PrivacyBoxes(parsed)!;
        Assert.Equal(2, boxes.Count);
        Assert.Equal(new VehicleImages.Core.Privacy.BoxF("plate", 0.4, 0.7, 0.2, 0.06), boxes[0]);
        Assert.Equal("face", boxes[1].Kind);
        Assert.Equal((0.9, 0.0, 0.2), (boxes[1].X, boxes[1].Y, Math.Round(boxes[1].Height, 6)));
        Assert.Equal(0.1, boxes[1].Width, 6);
        var repairs = parsed[TierAnswers.RepairsKey]!.AsArray().Select(r => (string)r!).ToList();
        Assert.Equal(4, repairs.Count);
        Assert.Contains(repairs, r => r.StartsWith("privacy box 2 (face) reached outside the image: clamped", StringComparison.Ordinal));
        Assert.Contains("privacy box 3 (plate) has no area inside the image: dropped", repairs);
        Assert.Contains("privacy box 4 is not a plate or a face: dropped", repairs);
        Assert.Contains("privacy box 5 (face) was incomplete: dropped", repairs);

        // An answer to the older prompt (no list): tier 1 said nothing, so nothing changes, and nothing to repair.
        answer.Remove(Prompts.PrivacyBoxesKey);
        var older = TierAnswers.Parse(Tier.Classification, answer.ToJsonString());
        Assert.Null(TierAnswers.PrivacyBoxes(older));
        Assert.Null(older[TierAnswers.RepairsKey]);
    }

    [Fact]
    public async Task FakeProvider_Tier1Boxes_StoredAsAiBoxes_AndAPersonsBoxesOutrankThemOnReanalysis()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Tier1[Prompts.PrivacyBoxesKey] = new JsonArray(Box("plate", 0.4, 0.7, 0.2, 0.06), Box("face", 0.9, 0.1, 0.3, 0.2));
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI", ["Analysis:Endpoint"] = fake.Endpoint.ToString(), ["Analysis:ApiKey"] = "sk-test-key",
            ["Analysis:Model"] = "vision-test-model", ["Analysis:RequestsPerMinute"] = "6000", ["Processing:RetryDelaysSeconds:0"] = "0",
        });
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var file = "exif-orientation-examples__Landscape_1.jpg";
        var id = (await UploadTests.UploadAsync(owner, vehicle, (file, File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", id)) == 1, "the analysis");

        Task<long> Boxes(string where) => ImageRows.ScalarAsync<long>(cs, $"SELECT count(*) FROM image_privacy_boxes WHERE image_id = @id AND {where}", ("id", id));
        Assert.Equal(1L, await Boxes("source = 'ai' AND kind = 'plate' AND x = 0.4 AND y = 0.7 AND width = 0.2 AND height = 0.06"));
        Assert.Equal(1L, await Boxes("source = 'ai' AND kind = 'face' AND x = 0.9 AND abs(width - 0.1) < 1e-9"));
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM vehicle_images WHERE id = @id AND ai_scan_metadata->'tier_1_analysis'->'repairs' @> '[\"privacy box 2 (face) reached outside the image: clamped to 0.9,0.1 0.1×0.2\"]'", ("id", id)));

        // A person draws a box; the provider sees other boxes on re-analysis: the person's box and the earlier ai boxes stand.
        await ImageRows.ScalarAsync<int>(cs, "INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source) VALUES (@id, 'plate', 0.3, 0.6, 0.2, 0.1, 'user'); SELECT 1", ("id", id));
        fake.Tier1[Prompts.PrivacyBoxesKey] = new JsonArray(Box("plate", 0.1, 0.1, 0.1, 0.05));
        var calls = fake.Calls.Count(c => c.Tier == 1);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/vehicles/{vehicle}/reanalyze", null, Ct)).StatusCode);
        await ImageRows.WaitForAsync(async () => fake.Calls.Count(c => c.Tier == 1) > calls
            && await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", id)) == 1
            && await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE image_id = @id AND outcome = 'complete'", ("id", id)) == 2,
            "the re-analysis");
        Assert.Equal((1L, 2L, 0L), (await Boxes("source = 'user'"), await Boxes("source = 'ai'"), await Boxes("x = 0.1 AND y = 0.1")));
    }
}
