using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Listings;

/// <summary>The listing API on the real app and database: derived, edited, guarded against a stale tab, and one with the primary photo.</summary>
public sealed class ListingApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Analysed photos of the vehicle, straight into the tables as the analysis leaves them: (shot, quality) each.</summary>
    private static async Task<Guid[]> AnalysedAsync(string cs, HttpClient owner, Guid vehicleId, params (string Shot, int Quality)[] photos)
    {
        var userId = (await owner.GetFromJsonAsync<JsonElement>("api/auth/me", Ct)).GetProperty("id").GetGuid();
        var ids = photos.Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < photos.Length; i++)
        {
            var (category, angle) = (photos[i].Shot.Split('.')[0], photos[i].Shot.Split('.')[1]);
            await ImageRows.ScalarAsync<int>(cs, """
                INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at, width, height, ai_scan_metadata)
                VALUES (@id, @v, @u, 'IMG_' || @n || '.jpg', 'complete', now() - make_interval(mins => 60 - @n), 4000, 3000,
                        jsonb_build_object('tier_1_analysis', jsonb_build_object('category', @c, 'angle', @a, 'quality_score', @q)));
                INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source) VALUES (@id, @c, @a, 0.9, 'ai');
                SELECT 1
                """, ("id", ids[i]), ("v", vehicleId), ("u", userId), ("n", i), ("c", category), ("a", angle), ("q", photos[i].Quality));
        }
        return ids;
    }

    private static async Task<(JsonElement Body, string? ETag)> ListingAsync(HttpClient client, Guid vehicleId)
    {
        using var response = await client.GetAsync($"api/vehicles/{vehicleId}/listing", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct), response.Headers.ETag?.Tag);
    }

    private static Guid[] Order(JsonElement listing) => [.. listing.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("imageId").GetGuid())];

    private static async Task<HttpResponseMessage> PutAsync(HttpClient client, Guid vehicleId, Guid[] ids, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/vehicles/{vehicleId}/listing") { Content = JsonContent.Create(new { imageIds = ids }) };
        if (ifMatch is not null)
            request.Headers.IfMatch.Add(new EntityTagHeaderValue(ifMatch));
        return await client.SendAsync(request, Ct);
    }

    private static async Task<Guid?> PrimaryAsync(HttpClient client, Guid vehicleId) =>
        (await client.GetFromJsonAsync<JsonElement>("api/vehicles", Ct)).EnumerateArray()
            .Single(v => v.GetProperty("id").GetGuid() == vehicleId).GetProperty("primaryImageId").GetGuid();

    [Fact]
    public async Task Listing_DerivedThenEdited_StaleTabGets412_StarMovesTheCover_DeleteLetsTheNextLead_RebuildGoesBack()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var other = await UploadTests.CreateVehicleAsync(owner, "Other car");
        var (rear, cover, vin, dash) = await AnalysedAsync(cs, owner, vehicle,
            ("exterior.rear", 8), ("exterior.front_3q_left", 9), ("document.vin_plate", 9), ("interior.dashboard", 7)) switch
        { var ids => (ids[0], ids[1], ids[2], ids[3]) };
        var elsewhere = (await AnalysedAsync(cs, owner, other, ("exterior.front", 8)))[0];

        // Derived from the analysis: the cover first, the VIN plate left out; the cover is the vehicle's primary photo.
        var (auto, tag) = await ListingAsync(owner, vehicle);
        Assert.Equal("auto", auto.GetProperty("mode").GetString());
        Assert.Equal([cover, rear, dash], Order(auto));
        Assert.Equal(cover, auto.GetProperty("coverImageId").GetGuid());
        Assert.Equal(vin, Assert.Single(auto.GetProperty("tray").EnumerateArray()).GetProperty("imageId").GetGuid());
        Assert.Equal(cover, await PrimaryAsync(owner, vehicle));
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicle}/listing", Ct)).StatusCode);

        // The person's order: stored, the first is the cover and the primary photo.
        using (var saved = await PutAsync(owner, vehicle, [dash, cover], tag))
        {
            Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
            var body = await saved.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal(("manual", dash), (body.GetProperty("mode").GetString(), body.GetProperty("coverImageId").GetGuid()));
            Assert.NotEqual(tag, saved.Headers.ETag?.Tag);
        }
        Assert.Equal(dash, await PrimaryAsync(owner, vehicle));
        // A second tab still holding the old version is refused, and told to reload.
        using (var stale = await PutAsync(owner, vehicle, [rear], tag))
            Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        using (var foreign = await PutAsync(owner, vehicle, [dash, elsewhere], null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);
            Assert.Contains(elsewhere.ToString(), await foreign.Content.ReadAsStringAsync(Ct));
        }
        using (var strangers = await PutAsync(stranger, vehicle, [dash], null))
            Assert.Equal(HttpStatusCode.NotFound, strangers.StatusCode);

        // Starring a photo (the primary action) puts it first.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PostAsync($"api/images/{rear}/primary", null, Ct)).StatusCode);
        Assert.Equal([rear, dash, cover], Order((await ListingAsync(owner, vehicle)).Body));

        // A deleted photo leaves the order; the next one is the cover and the primary photo.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"api/images/{rear}", Ct)).StatusCode);
        var (afterDelete, _) = await ListingAsync(owner, vehicle);
        Assert.Equal([dash, cover], Order(afterDelete));
        Assert.Equal(dash, await PrimaryAsync(owner, vehicle));

        // Rebuild: back to the analysis's listing.
        using var rebuilt = await owner.PostAsync($"api/vehicles/{vehicle}/listing/rebuild", null, Ct);
        var back = await rebuilt.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(("auto", cover), (back.GetProperty("mode").GetString(), back.GetProperty("coverImageId").GetGuid()));
        Assert.Equal([cover, dash], Order(back));
        Assert.Equal(cover, await PrimaryAsync(owner, vehicle));
    }
}
