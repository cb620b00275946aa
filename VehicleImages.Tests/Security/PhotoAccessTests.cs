using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Images;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Uploads;

namespace VehicleImages.Tests.Security;

/// <summary>A person reaches only their own photos; admins reach everyone's.</summary>
public sealed class PhotoAccessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string, byte[]) Real(string file) => (file, File.ReadAllBytes(TestData.Image(file)));

    [Fact]
    public async Task Images_OfAnotherUser_Are404_ButAdminsSeeThem()
    {
        // A database of its own, so that the first account registered here is certainly the admin.
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());
        using var admin = await app.CreateUserClientAsync();
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(owner);
        var id = (await UploadTests.UploadAsync(owner, vehicleId, Real("exif-samples__Canon_40D.jpg")))[0].ImageId!.Value;

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/images/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/images/{id}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicleId}/images", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"api/images/{id}", Ct)).StatusCode);
        var upload = await stranger.PostAsync($"api/vehicles/{vehicleId}/images", UploadTests.Files(Real("exif-samples__Kodak_CX7530.jpg")), Ct);
        Assert.Equal(HttpStatusCode.NotFound, upload.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/images/{id}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/images/{id}", Ct)).StatusCode);
    }
}
