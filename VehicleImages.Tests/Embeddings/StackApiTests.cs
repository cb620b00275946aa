using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VehicleImages.Core.Embeddings;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>
/// Stacks on the real app, database and model: photos uploaded as a burst stack and different photos (the two closest
/// traffic-camera views of different cars among them) do not; the best is a sharp copy, not the blurred one; the listing
/// takes only the best; a person splits, merges and picks; keep-best deletes only the others, and their files.
/// </summary>
public sealed class StackApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string Name, byte[] Bytes) Vehicle(string file) => (file, File.ReadAllBytes(Path.Combine(Bursts.VehiclesFolder, file)));

    private static async Task<Dictionary<Guid, JsonElement>> ListAsync(HttpClient client, Guid vehicle) =>
        (await client.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/images", Ct)).EnumerateArray()
            .ToDictionary(i => i.GetProperty("id").GetGuid());

    private static Guid? StackOf(JsonElement photo) =>
        photo.GetProperty("stackId").ValueKind == JsonValueKind.Null ? null : photo.GetProperty("stackId").GetGuid();

    private static int StoredFiles(TestApp app) => Directory.GetFiles(app.StorageRoot, "*", SearchOption.AllDirectories).Length;

    [Fact]
    public async Task A_burst_stacks_with_its_sharp_copy_as_best_different_photos_stand_alone_and_keep_best_deletes_only_the_others()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs);
        using var owner = await app.CreateUserClientAsync();
        using var stranger = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);

        var medium = Bursts.Medium(Path.Combine(Bursts.VehiclesFolder, "test_089.jpg"));
        var uploaded = await UploadTests.UploadAsync(owner, vehicle,
            ("front.jpg", medium), ("front-crop.jpg", Bursts.Make(medium, "crop")), ("front-blurred.jpg", Bursts.Make(medium, "blurred")),
            Vehicle("test_090.jpg"), Vehicle("wts-lg-000194.jpg"), Vehicle("wts-lg-000197.jpg"));
        var ids = uploaded.Select(u => u.ImageId!.Value).ToArray();
        var (sharp, crop, blurred) = (ids[0], ids[1], ids[2]);
        var others = ids[3..];
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo analysed", TimeSpan.FromSeconds(120));

        // The burst is one stack of three; the different photos stand alone.
        var photos = await ListAsync(owner, vehicle);
        var stack = StackOf(photos[sharp]);
        Assert.NotNull(stack);
        Assert.All([sharp, crop, blurred], id => Assert.Equal(stack, StackOf(photos[id])));
        Assert.All([sharp, crop, blurred], id => Assert.Equal(3, photos[id].GetProperty("stackSize").GetInt32()));
        Assert.All(others, id => Assert.Null(StackOf(photos[id])));
        Assert.All(others, id => Assert.Equal(1, photos[id].GetProperty("stackSize").GetInt32()));

        // The best is a sharp copy: the blurred one is not, and its focus measure is the lowest of the three.
        var best = Assert.Single(new[] { sharp, crop, blurred }, id => photos[id].GetProperty("isStackBest").GetBoolean());
        Assert.NotEqual(blurred, best);
        var focus = await ImageRows.ScalarAsync<double[]>(cs, "SELECT array_agg(focus ORDER BY array_position(@ids, image_id)) FROM image_embeddings WHERE image_id = ANY(@ids)",
            ("ids", new[] { sharp, crop, blurred }));
        Assert.True(focus[2] < focus[0] && focus[2] < focus[1], $"focus of the blurred copy {focus[2]} against {focus[0]} and {focus[1]}");
        var detail = await owner.GetFromJsonAsync<JsonElement>($"api/images/{blurred}", Ct);
        Assert.Equal(stack, StackOf(detail));
        Assert.False(detail.GetProperty("isStackBest").GetBoolean());
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("suggestion").ValueKind);

        // The automatic listing holds only the best of the stack.
        var listing = await owner.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/listing", Ct);
        var listed = listing.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("imageId").GetGuid()).ToHashSet();
        Assert.Contains(best, listed);
        Assert.DoesNotContain(new[] { sharp, crop, blurred }.Where(id => id != best), listed.Contains);

        // A person splits the crop out (it stands alone), merges it back, and picks the blurred copy as the best.
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"api/images/{crop}/stack/split", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/images/{crop}/stack/split", null, Ct)).StatusCode);
        photos = await ListAsync(owner, vehicle);
        Assert.Null(StackOf(photos[crop]));
        Assert.Equal(2, photos[sharp].GetProperty("stackSize").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PostAsync($"api/images/{crop}/stack/best", null, Ct)).StatusCode);
        using (var foreign = await stranger.PostAsJsonAsync("api/stacks/merge", new { imageIds = new[] { crop, sharp } }, Ct))
            Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);
        using (var merged = await owner.PostAsJsonAsync("api/stacks/merge", new { imageIds = new[] { crop, sharp } }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
            Assert.Equal(stack, (await merged.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("stackId").GetGuid());
        }
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/images/{blurred}/stack/best", null, Ct)).StatusCode);
        photos = await ListAsync(owner, vehicle);
        Assert.Equal(3, photos[crop].GetProperty("stackSize").GetInt32());
        Assert.True(photos[blurred].GetProperty("isStackBest").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"api/images/{sharp}/stack/best", null, Ct)).StatusCode);

        // Keep best: the crop a person categorized differently from the best is kept and named; the blurred copy goes, with its files.
        using (var categorized = await owner.PutAsJsonAsync($"api/images/{crop}/categorization", new { category = "exterior", angle = "rear" }, Ct))
            Assert.Equal(HttpStatusCode.OK, categorized.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"api/vehicles/{vehicle}/stacks/keep-best", null, Ct)).StatusCode);
        var filesBefore = StoredFiles(app);
        using (var kept = await owner.PostAsync($"api/vehicles/{vehicle}/stacks/keep-best", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
            var body = await kept.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal(1, body.GetProperty("deleted").GetInt32());
            var keptPhoto = Assert.Single(body.GetProperty("kept").EnumerateArray());
            Assert.Equal(crop, keptPhoto.GetProperty("imageId").GetGuid());
            Assert.Equal(KeepBest.CategorizedDifferently, keptPhoto.GetProperty("reason").GetString());
        }
        photos = await ListAsync(owner, vehicle);
        Assert.Equal(new[] { sharp, crop }.Concat(others).Order(), photos.Keys.Order());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"api/images/{blurred}/original", Ct)).StatusCode);
        Assert.Equal(filesBefore - 4, StoredFiles(app));
    }

    [Fact]
    public async Task A_share_of_all_photos_shows_a_stack_by_its_best_only_and_refuses_the_others_by_id()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs);
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var medium = Bursts.Medium(Path.Combine(Bursts.VehiclesFolder, "test_089.jpg"));
        var ids = (await UploadTests.UploadAsync(owner, vehicle,
            ("front.jpg", medium), ("front-crop.jpg", Bursts.Make(medium, "crop")), ("front-blurred.jpg", Bursts.Make(medium, "blurred")),
            Vehicle("test_090.jpg"))).Select(u => u.ImageId!.Value).ToArray();
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo analysed", TimeSpan.FromSeconds(120));
        var photos = await ListAsync(owner, vehicle);
        var best = Assert.Single(ids[..3], id => photos[id].GetProperty("isStackBest").GetBoolean());
        var behind = ids[..3].Where(id => id != best).ToArray();

        var share = await Sharing.ShareLinkTests.ShareAsync(owner, vehicle, new { set = "all" });
        using var visitor = new HttpClient { BaseAddress = app.BaseAddress };
        visitor.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.29");
        var shown = Sharing.ShareLinkTests.ImageUrls(await visitor.GetStringAsync(share.Path, Ct))
            .Select(u => Guid.Parse(u.Split('/')[4])).ToHashSet();

        Assert.Equal(new[] { best, ids[3] }.Order(), shown.Order());
        foreach (var id in behind)
            Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{share.Path}/i/{id}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync($"{share.Path}/i/{best}/thumb", Ct)).StatusCode);
    }
}
