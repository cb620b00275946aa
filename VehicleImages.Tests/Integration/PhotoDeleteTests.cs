using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Images;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Uploads;

namespace VehicleImages.Tests.Integration;

/// <summary>Deleting a photo: its row and files go, and the next photo becomes the primary.</summary>
public sealed class PhotoDeleteTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string, byte[]) Real(string file) => (file, File.ReadAllBytes(TestData.Image(file)));

    [Fact]
    public async Task Delete_PrimaryPhoto_RemovesItsFilesAndPromotesTheNext()
    {
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        // Bytes after the JPEG's end marker make this file unique, so no other test shares its stored files.
        var unique = File.ReadAllBytes(TestData.Image("exif-orientation-examples__Landscape_1.jpg")).Concat(Guid.NewGuid().ToByteArray()).ToArray();
        var results = await UploadTests.UploadAsync(client, vehicleId, ("unique.jpg", unique), Real("exif-orientation-examples__Landscape_2.jpg"));
        var first = results[0].ImageId!.Value;
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(unique));

        var response = await client.DeleteAsync($"api/images/{first}", Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/images/{first}", Ct)).StatusCode);
        Assert.Empty(Directory.GetFiles(fixture.App.StorageRoot, $"*{sha}*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(fixture.App.StorageRoot, "variants", sha[..2], sha)) &&
            Directory.GetFiles(Path.Combine(fixture.App.StorageRoot, "variants", sha[..2], sha)).Length > 0);
        var list = await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images", Ct);
        Assert.True(Assert.Single(list!).IsPrimary);
    }
}
