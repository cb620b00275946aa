using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;

namespace VehicleImages.Tests.Integration;

public sealed class VehicleApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_ValidVehicle_Is201WithTheVehicle()
    {
        using var client = await fixture.App.CreateUserClientAsync();

        var response = await client.PostAsJsonAsync("api/vehicles", new { name = "1967 Mustang", make = "Ford", model = "Mustang", year = 1967 }, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var vehicle = await response.Content.ReadFromJsonAsync<VehicleResponse>(Ct);
        Assert.Equal(("1967 Mustang", "Ford", "Mustang", 1967), (vehicle!.Name, vehicle.Make, vehicle.Model, vehicle.Year));
        Assert.NotEqual(Guid.Empty, vehicle.Id);
        Assert.Equal($"/api/vehicles/{vehicle.Id}", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task List_OnlyTheCallersVehicles_WithCountsPerStatus()
    {
        using var alice = await fixture.App.CreateUserClientAsync();
        using var bob = await fixture.App.CreateUserClientAsync();
        await alice.PostAsJsonAsync("api/vehicles", new { name = "Alice's car" }, Ct);
        await bob.PostAsJsonAsync("api/vehicles", new { name = "Bob's truck" }, Ct);

        var aliceList = await alice.GetFromJsonAsync<List<VehicleListItem>>("api/vehicles", Ct);
        var bobList = await bob.GetFromJsonAsync<List<VehicleListItem>>("api/vehicles", Ct);

        Assert.Equal(["Alice's car"], aliceList!.Select(v => v.Name));
        Assert.Equal(["Bob's truck"], bobList!.Select(v => v.Name));
        Assert.Equal(new VehicleImageCounts(0, 0, 0, 0, 0), aliceList![0].ImageCounts);
        Assert.Null(aliceList[0].PrimaryImageId);
    }

    [Theory]
    [InlineData("""{"name": ""}""", "name")]
    [InlineData("""{"name": "   "}""", "name")]
    [InlineData("""{"name": "Car", "year": 1700}""", "year")]
    [InlineData("""{"name": "Car", "make": "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"}""", "make")]
    public async Task Create_InvalidInput_Is400NamingTheField(string json, string field)
    {
        using var client = await fixture.App.CreateUserClientAsync();

        var response = await client.PostAsync("api/vehicles", new StringContent(json, System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
    }

    [Fact]
    public async Task Create_MalformedJson_Is400NotServerError()
    {
        using var client = await fixture.App.CreateUserClientAsync();

        var response = await client.PostAsync("api/vehicles", new StringContent("{name:", System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
