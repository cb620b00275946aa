using System.Net;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

public sealed class UploadLimitTests(SmallLimitsFixture fixture) : IClassFixture<SmallLimitsFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_FileOverTheLimit_RejectedAndItsNeighbourKept()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);

        var results = await UploadTests.UploadAsync(client, vehicleId,
            ("big.jpg", File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"))),
            ("small.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"))));

        Assert.Equal((IngestOutcome.Rejected, "file is larger than 0.1 MiB."), (results[0].Outcome, results[0].Error));
        Assert.Equal(IngestOutcome.Created, results[1].Outcome);
    }

    [Fact]
    public async Task Upload_RequestOverTheTotalLimit_Is413()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var big = File.ReadAllBytes(TestData.Image("exif-samples__iphone_13_pro_max.HEIC"));

        // Expect: 100-continue lets the server refuse before the body is sent, as browsers and curl do
        // for large bodies; without it the client would still be writing when the server answers.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/vehicles/{vehicleId}/images")
        {
            Content = UploadTests.Files(("a.heic", big), ("b.heic", big)),
        };
        request.Headers.ExpectContinue = true;
        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
