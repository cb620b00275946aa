using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Privacy;

/// <summary>
/// Privacy boxes through the API on the real app and database: the person's boxes replace the detector's and the
/// provider's, "none visible" clears them, every save marks the photo reviewed, bad boxes are named, and only the owner writes.
/// </summary>
public sealed class PrivacyBoxApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Cs => fixture.App.ConnectionString;

    /// <summary>An analysed photo of a new vehicle of the owner, with the boxes the local detector and the provider proposed.</summary>
    private async Task<(Guid VehicleId, Guid ImageId)> PhotoWithDetectedBoxesAsync(HttpClient owner)
    {
        var vehicleId = await UploadTests.CreateVehicleAsync(owner);
        var userId = (await owner.GetFromJsonAsync<JsonElement>("api/auth/me", Ct)).GetProperty("id").GetGuid();
        var imageId = Guid.NewGuid();
        await ImageRows.ScalarAsync<int>(Cs, """
            INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at, width, height)
            VALUES (@id, @v, @u, 'IMG_1.jpg', 'complete', now(), 4000, 3000);
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source, confidence)
            VALUES (@id, 'plate', 0.40, 0.70, 0.20, 0.06, 'local', 0.8), (@id, 'face', 0.10, 0.10, 0.05, 0.08, 'ai', 0.6);
            SELECT 1
            """, ("id", imageId), ("v", vehicleId), ("u", userId));
        return (vehicleId, imageId);
    }

    private static Task<HttpResponseMessage> PutJsonAsync(HttpClient client, string url, string json) =>
        client.PutAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), Ct);

    private static (string Kind, string Source)[] Boxes(JsonElement body) =>
        [.. body.GetProperty("privacyBoxes").EnumerateArray().Select(b => (b.GetProperty("kind").GetString()!, b.GetProperty("source").GetString()!))];

    private Task<long> RowsAsync(Guid imageId, string where = "true") =>
        ImageRows.ScalarAsync<long>(Cs, $"SELECT count(*) FROM image_privacy_boxes WHERE image_id = @id AND {where}", ("id", imageId));

    [Fact]
    public async Task Get_DetectedBoxesOnly_ShowsThemAndUnreviewed()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        var detail = await owner.GetFromJsonAsync<JsonElement>($"api/images/{imageId}", Ct);

        Assert.False(detail.GetProperty("privacyReviewed").GetBoolean());
        Assert.Equal([("plate", "local"), ("face", "ai")], Boxes(detail));
        var plate = detail.GetProperty("privacyBoxes")[0];
        Assert.Equal((0.40, 0.70, 0.20, 0.06), (plate.GetProperty("x").GetDouble(), plate.GetProperty("y").GetDouble(),
            plate.GetProperty("width").GetDouble(), plate.GetProperty("height").GetDouble()));
        Assert.Equal(0.8, plate.GetProperty("confidence").GetDouble(), 5);
    }

    [Fact]
    public async Task Put_PersonsBoxes_ReplaceAllOthersAndMarkReviewed()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        using var response = await owner.PutAsJsonAsync($"api/images/{imageId}/privacy-boxes", new
        {
            boxes = new[] { new { kind = "plate", x = 0.38, y = 0.68, width = 0.25, height = 0.09 }, new { kind = "face", x = 0.0, y = 0.0, width = 1.0, height = 1.0 } },
        }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal([("face", "user"), ("plate", "user")], Boxes(body).Order()); // two boxes saved in one call: no order between them
        Assert.True(body.GetProperty("privacyReviewed").GetBoolean());
        var detail = await owner.GetFromJsonAsync<JsonElement>($"api/images/{imageId}", Ct);
        Assert.Equal([("face", "user"), ("plate", "user")], Boxes(detail).Order());
        Assert.True(detail.GetProperty("privacyReviewed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("privacyBoxes")[0].GetProperty("confidence").ValueKind);
        Assert.Equal(2, await RowsAsync(imageId));
        Assert.Equal(2, await RowsAsync(imageId, "source = 'user'"));
        Assert.Equal(0.25, await ImageRows.ScalarAsync<double>(Cs, "SELECT width FROM image_privacy_boxes WHERE image_id = @id AND kind = 'plate'", ("id", imageId)));
        Assert.False(await ImageRows.ScalarAsync<bool>(Cs, "SELECT none_visible FROM image_privacy_reviews WHERE image_id = @id", ("id", imageId)));
    }

    [Fact]
    public async Task Put_NoneVisible_ClearsDetectedBoxesAndMarksReviewed()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        using var response = await PutJsonAsync(owner, $"api/images/{imageId}/privacy-boxes", """{"noneVisible": true}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Empty(Boxes(body));
        Assert.True(body.GetProperty("privacyReviewed").GetBoolean());
        Assert.Equal(0, await RowsAsync(imageId));
        Assert.True(await ImageRows.ScalarAsync<bool>(Cs, "SELECT none_visible FROM image_privacy_reviews WHERE image_id = @id", ("id", imageId)));
    }

    [Fact]
    public async Task ReviewedPhoto_DetectedBoxWrittenAfterwards_IsNotShown()
    {
        // A re-analysis racing the person's save may still write a box; the person's review outranks it.
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);
        (await owner.PutAsJsonAsync($"api/images/{imageId}/privacy-boxes", new { boxes = new[] { new { kind = "plate", x = 0.1, y = 0.1, width = 0.2, height = 0.1 } } }, Ct))
            .EnsureSuccessStatusCode();

        await ImageRows.ScalarAsync<int>(Cs, "INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source) VALUES (@id, 'face', 0.5, 0.5, 0.1, 0.1, 'ai'); SELECT 1", ("id", imageId));

        var detail = await owner.GetFromJsonAsync<JsonElement>($"api/images/{imageId}", Ct);
        Assert.Equal([("plate", "user")], Boxes(detail));
    }

    [Theory]
    [InlineData("""{"boxes": [{"kind": "plate", "x": -0.1, "y": 0.2, "width": 0.2, "height": 0.1}]}""", "boxes[0]")]
    [InlineData("""{"boxes": [{"kind": "plate", "x": 0.1, "y": 0.2, "width": 0.2, "height": 0.1}, {"kind": "face", "x": 0.9, "y": 0.2, "width": 0.2, "height": 0.1}]}""", "boxes[1]")]
    [InlineData("""{"boxes": [{"kind": "plate", "x": 0.1, "y": 0.95, "width": 0.2, "height": 0.1}]}""", "boxes[0]")]
    [InlineData("""{"boxes": [{"kind": "plate", "x": 0.1, "y": 0.2, "width": 0, "height": 0.1}]}""", "boxes[0]")]
    [InlineData("""{"boxes": [{"kind": "plate", "x": 0.1, "y": 0.2, "width": 0.3, "height": 0}]}""", "boxes[0]")]
    [InlineData("""{"boxes": [{"kind": "licence", "x": 0.1, "y": 0.2, "width": 0.2, "height": 0.1}]}""", "boxes[0].kind")]
    [InlineData("""{"boxes": [{"x": 0.1, "y": 0.2, "width": 0.2, "height": 0.1}]}""", "boxes[0].kind")]
    [InlineData("""{"noneVisible": true, "boxes": [{"kind": "plate", "x": 0.1, "y": 0.2, "width": 0.2, "height": 0.1}]}""", "noneVisible")]
    [InlineData("""{}""", "boxes")]
    public async Task Put_BadBox_Is400NamingItAndChangesNothing(string json, string field)
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        using var response = await PutJsonAsync(owner, $"api/images/{imageId}/privacy-boxes", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
        Assert.Equal(2, await RowsAsync(imageId, "source <> 'user'"));
        Assert.Equal(0, await ImageRows.ScalarAsync<long>(Cs, "SELECT count(*) FROM image_privacy_reviews WHERE image_id = @id", ("id", imageId)));
    }

    [Theory]
    [InlineData("""{"boxes": "plate"}""")]
    [InlineData("""{"boxes": [{"kind": "plate", "x": "left"}]}""")]
    [InlineData("""{boxes:""")]
    public async Task Put_MalformedJson_Is400NotServerError(string json)
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        using var response = await PutJsonAsync(owner, $"api/images/{imageId}/privacy-boxes", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Put_SomeoneElsesOrUnknownPhoto_Is404AndChangesNothing()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        using var stranger = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);

        using var theirs = await PutJsonAsync(stranger, $"api/images/{imageId}/privacy-boxes", """{"noneVisible": true}""");
        using var unknown = await PutJsonAsync(owner, $"api/images/{Guid.NewGuid()}/privacy-boxes", """{"noneVisible": true}""");

        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/images/{imageId}", Ct)).StatusCode);
        Assert.Equal(2, await RowsAsync(imageId));
    }

    [Fact]
    public async Task DeletedPhoto_TakesItsBoxesAndReviewAlong()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        var (_, imageId) = await PhotoWithDetectedBoxesAsync(owner);
        (await PutJsonAsync(owner, $"api/images/{imageId}/privacy-boxes", """{"boxes": [{"kind": "plate", "x": 0.1, "y": 0.2, "width": 0.2, "height": 0.1}]}"""))
            .EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"api/images/{imageId}", Ct)).StatusCode);

        Assert.Equal(0, await RowsAsync(imageId));
        Assert.Equal(0, await ImageRows.ScalarAsync<long>(Cs, "SELECT count(*) FROM image_privacy_reviews WHERE image_id = @id", ("id", imageId)));
    }

    [Fact]
    public async Task VehicleUpdate_HidingOnByDefault_TurningItOffIsRecorded_LeavingItOutKeepsIt()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        using var created = await owner.PostAsJsonAsync("api/vehicles", new { name = "Wagon" }, Ct);
        var vehicle = await created.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var vehicleId = vehicle.GetProperty("id").GetGuid();
        Assert.True(vehicle.GetProperty("hidePrivacyBoxes").GetBoolean());

        using var off = await owner.PutAsJsonAsync($"api/vehicles/{vehicleId}", new { name = "Wagon", make = "Volvo", year = 1994, hidePrivacyBoxes = false }, Ct);
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        var updated = await off.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.False(updated.GetProperty("hidePrivacyBoxes").GetBoolean());
        Assert.Equal(("Volvo", 1994), (updated.GetProperty("make").GetString(), updated.GetProperty("year").GetInt32()));
        Assert.False(await ImageRows.ScalarAsync<bool>(Cs, "SELECT hide_privacy_boxes FROM vehicles WHERE id = @id", ("id", vehicleId)));
        Assert.True(await ImageRows.ScalarAsync<bool>(Cs, "SELECT privacy_hiding_off_at > now() - interval '5 minutes' FROM vehicles WHERE id = @id", ("id", vehicleId)));

        using var renamed = await owner.PutAsJsonAsync($"api/vehicles/{vehicleId}", new { name = "Estate" }, Ct);
        Assert.False((await renamed.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hidePrivacyBoxes").GetBoolean());

        using var on = await owner.PutAsJsonAsync($"api/vehicles/{vehicleId}", new { name = "Estate", hidePrivacyBoxes = true }, Ct);
        Assert.True((await on.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hidePrivacyBoxes").GetBoolean());
        Assert.True(await ImageRows.ScalarAsync<bool>(Cs, "SELECT hide_privacy_boxes FROM vehicles WHERE id = @id", ("id", vehicleId)));
    }

    [Fact]
    public async Task VehicleUpdate_SomeoneElsesVehicle_Is404_BadName_Is400()
    {
        using var owner = await fixture.App.CreateUserClientAsync();
        using var stranger = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(owner, "Mine");

        using var theirs = await stranger.PutAsJsonAsync($"api/vehicles/{vehicleId}", new { name = "Taken", hidePrivacyBoxes = false }, Ct);
        using var blank = await PutJsonAsync(owner, $"api/vehicles/{vehicleId}", """{"name": " ", "hidePrivacyBoxes": false}""");

        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        using var problem = JsonDocument.Parse(await blank.Content.ReadAsStringAsync(Ct));
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("name", out _));
        Assert.True(await ImageRows.ScalarAsync<bool>(Cs, "SELECT hide_privacy_boxes FROM vehicles WHERE id = @id", ("id", vehicleId)));
        Assert.Equal("Mine", await ImageRows.ScalarAsync<string>(Cs, "SELECT name FROM vehicles WHERE id = @id", ("id", vehicleId)));
    }
}
