using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Limits;

/// <summary>Upload:MaxFilesPerRequest at its default (100), on the real app.</summary>
public sealed class UploadPartsCapTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string, byte[])[] Copies(int count)
    {
        var bytes = File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"));
        return Enumerable.Range(1, count).Select(i => ($"IMG_{i:000}.jpg", bytes)).ToArray();
    }

    private int StoredFileCount(string folder)
    {
        var path = Path.Combine(fixture.App.StorageRoot, folder);
        return Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories).Length : 0;
    }

    [Fact]
    public async Task Upload_MoreFilesThanTheCap_413WithReasonAndNothingStored()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var (originals, variants) = (StoredFileCount("originals"), StoredFileCount("variants"));

        var response = await client.PostAsync($"api/vehicles/{vehicleId}/images", UploadTests.Files(Copies(101)), Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("more than 100 files", problem.GetProperty("detail").GetString());
        Assert.Equal(0L, await ImageRows.CountAsync(fixture.App.ConnectionString, "vehicle_id = @v", ("v", vehicleId)));
        Assert.Equal((originals, variants, 0), (StoredFileCount("originals"), StoredFileCount("variants"), StoredFileCount("tmp")));
    }

    [Fact]
    public async Task Upload_ExactlyTheCap_EveryFileGetsItsResult()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);

        var results = await UploadTests.UploadAsync(client, vehicleId, Copies(100));

        Assert.Equal(100, results.Length);
        Assert.Equal(IngestOutcome.Created, results[0].Outcome);
        Assert.All(results[1..], r => Assert.Equal(IngestOutcome.Duplicate, r.Outcome));
        Assert.Equal(0, StoredFileCount("tmp"));
    }
}
