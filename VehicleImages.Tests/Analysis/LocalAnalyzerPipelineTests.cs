using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Analysis;

public sealed class LocalAnalyzerPipelineTests
{
    [Fact]
    public async Task Local_NoProviderConfigured_Tier1QualityOnlyAndSaysWhy()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());
        using var client = await app.CreateUserClientAsync();
        var vehicle = await Integration.UploadTests.CreateVehicleAsync(client);
        var id = (await Integration.UploadTests.UploadAsync(client, vehicle,
            ("p.jpg", File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg")))))[0].ImageId!.Value;

        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(app.ConnectionString, "id = @id AND processing_status = 'complete'", ("id", id)) == 1,
            "the Local analyzer to finish");

        var detail = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(client, $"api/images/{id}",
            TestContext.Current.CancellationToken);
        var meta = detail.GetProperty("aiScanMetadata");
        var tier1 = meta.GetProperty("tier_1_analysis");
        Assert.Equal(("unknown", "unknown"), (tier1.GetProperty("category").GetString(), tier1.GetProperty("angle").GetString()));
        Assert.InRange(tier1.GetProperty("quality_score").GetInt32(), 1, 10);
        Assert.Equal("Local", meta.GetProperty("provider").GetString());
        Assert.Equal("skipped: no AI provider", meta.GetProperty("skipped").GetProperty("tier_2_analysis").GetString());
        Assert.Equal("skipped: no AI provider", meta.GetProperty("skipped").GetProperty("tier_3_analysis").GetString());
        Assert.Equal(("unknown", "unknown"), (detail.GetProperty("category").GetString(), detail.GetProperty("angle").GetString()));
    }
}
