using System.Net;
using System.Net.Http.Json;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

/// <summary>GET /api/vehicles/{id}/images?page=&amp;pageSize=: pages in the list's order with X-Total-Count; without page, the whole list.</summary>
public sealed class ListPagingTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(HttpClient Client, Guid VehicleId)> VehicleWithPhotosAsync(int count)
    {
        var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        await ImageRows.ScalarAsync<long>(fixture.App.ConnectionString, """
            WITH made AS (
                INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at)
                SELECT gen_random_uuid(), v.id, v.user_id, 'IMG_' || lpad(n::text, 4, '0') || '.jpg',
                       CASE WHEN n % 3 = 0 THEN 'failed' ELSE 'pending' END, '2024-01-01'::timestamptz + n * interval '1 minute'
                FROM vehicles v, generate_series(1, @count) AS n WHERE v.id = @v
                RETURNING 1)
            SELECT count(*) FROM made
            """, ("v", vehicleId), ("count", count));
        return (client, vehicleId);
    }

    [Fact]
    public async Task List_Pages_CoverTheWholeListInOrderWithTheTotal()
    {
        var (client, vehicleId) = await VehicleWithPhotosAsync(120);
        var whole = (await client.GetFromJsonAsync<List<ImageSummary>>($"api/vehicles/{vehicleId}/images", Ct))!;

        var pages = new List<ImageSummary>();
        for (var page = 1; page <= 3; page++)
        {
            var response = await client.GetAsync($"api/vehicles/{vehicleId}/images?page={page}", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("120", Assert.Single(response.Headers.GetValues("X-Total-Count")));
            pages.AddRange((await response.Content.ReadFromJsonAsync<List<ImageSummary>>(Ct))!);
        }

        Assert.Equal(120, whole.Count);
        Assert.Equal(whole.Select(i => i.Id), pages.Select(i => i.Id)); // 50 + 50 + 20, the default page size
        Assert.False((await client.GetAsync($"api/vehicles/{vehicleId}/images", Ct)).Headers.Contains("X-Total-Count"));
    }

    [Fact]
    public async Task List_PageWithFilterAndSize_CountsTheFilteredList()
    {
        var (client, vehicleId) = await VehicleWithPhotosAsync(30);

        var response = await client.GetAsync($"api/vehicles/{vehicleId}/images?status=failed&page=2&pageSize=4", Ct);

        Assert.Equal("10", Assert.Single(response.Headers.GetValues("X-Total-Count")));
        var page = (await response.Content.ReadFromJsonAsync<List<ImageSummary>>(Ct))!;
        Assert.Equal(["IMG_0015.jpg", "IMG_0018.jpg", "IMG_0021.jpg", "IMG_0024.jpg"], page.Select(i => i.FileName));
    }

    [Theory]
    [InlineData("page=0")]
    [InlineData("page=1&pageSize=501")]
    [InlineData("page=1&pageSize=0")]
    public async Task List_BadPaging_Is400NamingTheParameter(string query)
    {
        var (client, vehicleId) = await VehicleWithPhotosAsync(1);

        var response = await client.GetAsync($"api/vehicles/{vehicleId}/images?{query}", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task List_PageOfAnothersVehicle_Is404()
    {
        var (_, vehicleId) = await VehicleWithPhotosAsync(1);
        using var stranger = await fixture.App.CreateUserClientAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicleId}/images?page=1", Ct)).StatusCode);
    }
}
