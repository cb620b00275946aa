using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>
/// Suggestions on the real app and model: none before the person sorts anything (unknown stays unknown); after they sort
/// a few photos of two kinds, the unsorted ones of each kind (analysed already) are suggested the right shot without
/// re-analysis, and so is a photo uploaded afterwards; accepting makes it the person's categorization.
/// </summary>
public sealed class SuggestionApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string Name, byte[] Bytes) Car(string file) => (file, File.ReadAllBytes(Path.Combine(Bursts.VehiclesFolder, file)));

    private static async Task<Dictionary<Guid, JsonElement>> ListAsync(HttpClient client, Guid vehicle) =>
        (await client.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/images", Ct)).EnumerateArray()
            .ToDictionary(i => i.GetProperty("id").GetGuid());

    private static string? Suggested(JsonElement photo) => photo.GetProperty("suggestion") is { ValueKind: JsonValueKind.Object } s
        ? $"{s.GetProperty("category").GetString()}.{s.GetProperty("angle").GetString()}"
        : null;

    private static Task WaitCompleteAsync(string cs, Guid[] ids) =>
        ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo analysed", TimeSpan.FromSeconds(120));

    [Fact]
    public async Task Sorting_a_few_of_two_kinds_suggests_the_rest_and_later_uploads_and_accepting_makes_it_the_persons()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs);
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);

        var uploaded = await UploadTests.UploadAsync(owner, vehicle,
            Car("wts-lg-000179.jpg"), Car("wts-lg-000181.jpg"), Car("wts-lg-000183.jpg"), Car("wts-lg-000186.jpg"), Car("wts-lg-000187.jpg"),
            ("doc0.jpg", Documents.Make(0)), ("doc1.jpg", Documents.Make(1)), ("doc2.jpg", Documents.Make(2)),
            ("doc3.jpg", Documents.Make(3)), ("doc4.jpg", Documents.Make(4)));
        var ids = uploaded.Select(u => u.ImageId!.Value).ToArray();
        var (cars, docs) = (ids[..5], ids[5..]);
        await WaitCompleteAsync(cs, ids);

        // Nothing sorted yet: no suggestion, the Local analyzer's unknown stands.
        var photos = await ListAsync(owner, vehicle);
        Assert.All(ids, id => Assert.Null(Suggested(photos[id])));
        Assert.All(ids, id => Assert.Equal("unknown", photos[id].GetProperty("category").GetString()));

        // The person sorts three of each kind; the other two of each are suggested at once, without another analysis.
        var attempts = await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts");
        foreach (var (id, category, angle) in cars[..3].Select(c => (c, "exterior", "front")).Concat(docs[..3].Select(d => (d, "document", "receipt"))))
            using (var sorted = await owner.PutAsJsonAsync($"api/images/{id}/categorization", new { category, angle }, Ct))
                Assert.Equal(HttpStatusCode.OK, sorted.StatusCode);
        photos = await ListAsync(owner, vehicle);
        Assert.All(cars[3..], id => Assert.Equal("exterior.front", Suggested(photos[id])));
        Assert.All(docs[3..], id => Assert.Equal("document.receipt", Suggested(photos[id])));
        Assert.All(cars[..3].Concat(docs[..3]), id => Assert.Null(Suggested(photos[id])));
        var suggestion = photos[cars[3]].GetProperty("suggestion");
        Assert.Matches("^[1-5] similar photos? you sorted$", suggestion.GetProperty("basis").GetString());
        Assert.InRange(suggestion.GetProperty("confidence").GetDouble(), 0.5, 1.0);
        Assert.Equal(attempts, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));

        // A photo uploaded after the sorting is suggested as it is analysed.
        var later = (await UploadTests.UploadAsync(owner, vehicle, Car("wts-lg-000188.jpg")))[0].ImageId!.Value;
        await WaitCompleteAsync(cs, [later]);
        Assert.Equal("exterior.front", Suggested((await ListAsync(owner, vehicle))[later]));

        // Accepting makes it the person's categorization; then there is nothing left to accept.
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"api/images/{cars[3]}/suggestion/accept", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/images/{cars[3]}/suggestion/accept", null, Ct)).StatusCode);
        var detail = await owner.GetFromJsonAsync<JsonElement>($"api/images/{cars[3]}", Ct);
        Assert.Equal("exterior", detail.GetProperty("category").GetString());
        Assert.Equal("front", detail.GetProperty("angle").GetString());
        Assert.Contains(detail.GetProperty("angles").EnumerateArray(), a => a.GetProperty("source").GetString() == "user");
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("suggestion").ValueKind);
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PostAsync($"api/images/{cars[3]}/suggestion/accept", null, Ct)).StatusCode);
    }
}
