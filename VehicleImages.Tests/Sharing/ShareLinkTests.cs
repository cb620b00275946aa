using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.Listings;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Sharing;

/// <summary>Share links on the real app, store and database, as an anonymous visitor's HTTP client sees them.</summary>
public sealed partial class ShareLinkTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string Name, byte[] Bytes) File(string name) => (name, System.IO.File.ReadAllBytes(TestData.Image(name)));

    /// <summary>A vehicle of a new owner with four analysed photos: three in the listing, one not a vehicle.</summary>
    internal static async Task<(HttpClient Owner, Guid Vehicle, Guid[] Listed, Guid NotVehicle)> VehicleWithPhotosAsync(TestApp app)
    {
        var owner = await app.CreateUserClientAsync();
        var vehicle = (await (await owner.PostAsJsonAsync("api/vehicles", new { name = "Old Porsche", make = "Porsche", model = "911", year = 1973 }, Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
        var uploaded = await UploadTests.UploadAsync(owner, vehicle, File("exif-samples__DSCN0010.jpg"), File("exif-samples__canon_hdr_YES.jpg"),
            File("exif-samples__Kodak_CX7530.jpg"), File("exif-samples__Canon_40D.jpg"));
        var ids = uploaded.Select(u => u.ImageId!.Value).ToArray();
        await ExportTests.AnalysedAsync(app.ConnectionString, (ids[0], "exterior.front"), (ids[1], "exterior.front_3q_left"),
            (ids[2], "interior.dashboard"), (ids[3], "not_vehicle.other"));
        // Listing order: the 3/4 front (cover), the front, the dashboard.
        return (owner, vehicle, [ids[1], ids[0], ids[2]], ids[3]);
    }

    internal static async Task<(Guid Id, string Url, string Path)> ShareAsync(HttpClient owner, Guid vehicle, object body)
    {
        var response = await owner.PostAsJsonAsync($"api/vehicles/{vehicle}/shares", body, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var url = json.GetProperty("url").GetString()!;
        return (json.GetProperty("id").GetGuid(), url, new Uri(url).AbsolutePath);
    }

    private static HttpClient Visitor(TestApp app, string address, CookieContainer? cookies = null)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = app.BaseAddress,
        };
        // As the proxy on loopback sends it: the visitor's own address.
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    internal static List<string> ImageUrls(string html) =>
        [.. ImgSrc().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups["src"].Value))];

    [GeneratedRegex("<img src=\"(?<src>/s/[^\"]+)\"")]
    private static partial Regex ImgSrc();

    internal static string? Meta(string html, string property) =>
        Regex.Match(html, $"<meta (?:property|name)=\"{Regex.Escape(property)}\" content=\"(?<c>[^\"]*)\"") is { Success: true } m
            ? WebUtility.HtmlDecode(m.Groups["c"].Value) : null;

    [Fact]
    public async Task Share_AnonymousVisitor_SeesTheListingInOrder_OnlyItsPhotos_NoCookie_AndRevokeOrExpiryEndsEverythingAtOnce()
    {
        var app = fixture.App;
        var (owner, vehicle, listed, notVehicle) = await VehicleWithPhotosAsync(app);
        var (shareId, url, path) = await ShareAsync(owner, vehicle, new { set = "listing" });
        Assert.StartsWith(app.BaseAddress.ToString().TrimEnd('/') + "/s/", url);
        Assert.Equal(43, path.Length - "/s/".Length); // 256 bits, base64url

        using var visitor = Visitor(app, "198.51.100.10");
        var page = await visitor.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.False(page.Headers.Contains("Set-Cookie"), "a share without a password sets no cookie");
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<h1>1973 Porsche 911</h1>", html);
        Assert.DoesNotContain("blazor.web.js", html); // static, no circuit
        var images = ImageUrls(html);
        Assert.Equal(listed.Select(id => $"{path}/i/{id}/thumb"), images);
        Assert.Contains("Front 3/4 left", html);
        Assert.Contains("Dashboard", html);
        Assert.Contains("Download all", html);
        Assert.Contains("noindex", html);
        Assert.DoesNotContain("exif-samples", html); // no file names
        Assert.DoesNotContain("@example.test", html); // no owner

        // Open Graph: the title with the count, the cover's absolute URL.
        Assert.Equal("1973 Porsche 911 · 3 photos", Meta(html, "og:title"));
        Assert.Equal($"{app.BaseAddress.ToString().TrimEnd('/')}{path}/i/{listed[0]}/large", Meta(html, "og:image"));
        Assert.Equal("summary_large_image", Meta(html, "twitter:card"));

        // Images: private, short-lived, with an ETag that answers 304.
        var thumb = await visitor.GetAsync(images[0], Ct);
        Assert.Equal(HttpStatusCode.OK, thumb.StatusCode);
        Assert.Equal("image/jpeg", thumb.Content.Headers.ContentType?.MediaType);
        Assert.True(thumb.Headers.CacheControl is { Private: true, MaxAge: { } age } && age <= TimeSpan.FromMinutes(5));
        ExportTests.AssertNothingPrivate("thumb", await thumb.Content.ReadAsByteArrayAsync(Ct));
        using (var again = new HttpRequestMessage(HttpMethod.Get, images[0]))
        {
            again.Headers.IfNoneMatch.Add(thumb.Headers.ETag!);
            Assert.Equal(HttpStatusCode.NotModified, (await visitor.SendAsync(again, Ct)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync($"{path}/i/{listed[2]}/large", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync($"{path}/i/{listed[2]}/medium", Ct)).StatusCode);
        // Never an original; a photo of the vehicle outside the set is refused by its id; so is another owner's.
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{listed[0]}/original", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{notVehicle}/thumb", Ct)).StatusCode);
        var (_, _, otherListed, _) = await VehicleWithPhotosAsync(app);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{otherListed[0]}/thumb", Ct)).StatusCode);

        // The owner's list: views and when.
        var list = await owner.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/shares", Ct);
        var row = list.EnumerateArray().Single();
        Assert.Equal((shareId, url, "listing", false, true, false), (row.GetProperty("id").GetGuid(), row.GetProperty("url").GetString(),
            row.GetProperty("set").GetString(), row.GetProperty("hasPassword").GetBoolean(), row.GetProperty("allowDownload").GetBoolean(),
            row.GetProperty("indexable").GetBoolean()));
        Assert.Equal(1, row.GetProperty("views").GetInt64());
        Assert.Equal(JsonValueKind.String, row.GetProperty("lastViewedAt").ValueKind);
        var expires = row.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30.1));

        // Unknown tokens look exactly like the others that do not work.
        var unknown = await visitor.GetAsync("/s/" + new string('A', 43), Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var notFoundHtml = await unknown.Content.ReadAsStringAsync(Ct);

        // Expired: page and images 404 at once.
        await ImageRows.ScalarAsync<int>(app.ConnectionString, "UPDATE share_links SET expires_at = now() - interval '1 second' WHERE id = @id; SELECT 1",
            ("id", shareId));
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(path, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(images[1], Ct)).StatusCode);
        Assert.Equal(notFoundHtml, await (await visitor.GetAsync(path, Ct)).Content.ReadAsStringAsync(Ct));
        var renewed = await owner.PatchAsJsonAsync($"api/shares/{shareId}", new { expiresInDays = 7 }, Ct);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync(images[1], Ct)).StatusCode);

        // Revoked: the same.
        using var stranger = await app.CreateUserClientAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"api/shares/{shareId}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/vehicles/{vehicle}/shares", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PatchAsJsonAsync($"api/shares/{shareId}", new { expiresInDays = 3 }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"api/shares/{shareId}", Ct)).StatusCode);
        var revoked = await visitor.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.NotFound, revoked.StatusCode);
        Assert.Equal(notFoundHtml, await revoked.Content.ReadAsStringAsync(Ct));
        foreach (var image in images)
            Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(image, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/download", Ct)).StatusCode);
        var listed2 = await owner.GetFromJsonAsync<JsonElement>($"api/vehicles/{vehicle}/shares", Ct);
        Assert.Equal(JsonValueKind.String, listed2[0].GetProperty("revokedAt").ValueKind);
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PatchAsJsonAsync($"api/shares/{shareId}", new { expiresInDays = 3 }, Ct)).StatusCode);
    }

    [Fact]
    public async Task Share_BadInput_ClearReasons_No500_AndNoindexUnlessAllowed()
    {
        var app = fixture.App;
        var (owner, vehicle, _, _) = await VehicleWithPhotosAsync(app);
        async Task<string> Refused(object body)
        {
            var response = await owner.PostAsJsonAsync($"api/vehicles/{vehicle}/shares", body, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return await response.Content.ReadAsStringAsync(Ct);
        }
        Assert.Contains("1 to 365 days", await Refused(new { expiresInDays = 0 }));
        Assert.Contains("1 to 365 days", await Refused(new { expiresInDays = 366 }));
        Assert.Contains("listing or all", await Refused(new { set = "everything" }));
        Assert.Contains("at most 128", await Refused(new { password = new string('x', 129) }));
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PostAsJsonAsync($"api/vehicles/{Guid.NewGuid()}/shares", new { }, Ct)).StatusCode);
        var (id, _, _) = await ShareAsync(owner, vehicle, new { });
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PatchAsJsonAsync($"api/shares/{id}", new { expiresInDays = 400 }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.DeleteAsync($"api/shares/{Guid.NewGuid()}", Ct)).StatusCode);
        using var visitor = Visitor(app, "198.51.100.11");
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/s/short", Ct)).StatusCode);
        // Search engines: told to stay away unless the owner ticked "let search engines index".
        var (_, _, indexable) = await ShareAsync(owner, vehicle, new { indexable = true });
        var open = await visitor.GetAsync(indexable, Ct);
        Assert.DoesNotContain("noindex", await open.Content.ReadAsStringAsync(Ct));
        Assert.Equal("all", open.Headers.GetValues("X-Robots-Tag").Single());
        var (_, _, hidden) = await ShareAsync(owner, vehicle, new { });
        Assert.Equal("noindex, nofollow", (await visitor.GetAsync(hidden, Ct)).Headers.GetValues("X-Robots-Tag").Single());
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/s/" + new string('A', 43) + "/i/" + Guid.NewGuid() + "/thumb", Ct)).StatusCode);
    }

    [Fact]
    public async Task Share_PhotoRemovedFromManualListing_VanishesFromPageAndImageUrls()
    {
        var app = fixture.App;
        var (owner, vehicle, listed, _) = await VehicleWithPhotosAsync(app);
        var (_, _, path) = await ShareAsync(owner, vehicle, new { set = "listing" });
        using var visitor = Visitor(app, "198.51.100.12");
        var before = ImageUrls(await visitor.GetStringAsync(path, Ct));
        Assert.Equal(3, before.Count);
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync(before[2], Ct)).StatusCode);

        var saved = await owner.PutAsJsonAsync($"api/vehicles/{vehicle}/listing", new { imageIds = new[] { listed[0], listed[1] } }, Ct);
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);

        var after = ImageUrls(await visitor.GetStringAsync(path, Ct));
        Assert.Equal(before[..2], after);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(before[2], Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(before[2].Replace("/thumb", "/large", StringComparison.Ordinal), Ct)).StatusCode);
    }

    [Fact]
    public async Task Share_SetAll_AddsOtherVehiclePhotos_ButNeverNotVehicleOrPrivateDocuments()
    {
        var app = fixture.App;
        var (owner, vehicle, listed, notVehicle) = await VehicleWithPhotosAsync(app);
        var extra = await UploadTests.UploadAsync(owner, vehicle, File("exif-orientation-examples__Landscape_1.jpg"), File("exif-orientation-examples__Landscape_2.jpg"),
            File("exif-orientation-examples__Landscape_3.jpg"));
        var (wheelBrake, vin, odometer) = (extra[0].ImageId!.Value, extra[1].ImageId!.Value, extra[2].ImageId!.Value);
        await ExportTests.AnalysedAsync(app.ConnectionString, (wheelBrake, "wheels_tires.brake"), (vin, "document.vin_plate"), (odometer, "document.odometer"));
        // A manual listing of three, so the brake photo is outside the listing and only "all" brings it.
        await owner.PutAsJsonAsync($"api/vehicles/{vehicle}/listing", new { imageIds = listed }, Ct);
        var (_, _, path) = await ShareAsync(owner, vehicle, new { set = "all" });
        using var visitor = Visitor(app, "198.51.100.13");
        var urls = ImageUrls(await visitor.GetStringAsync(path, Ct));
        Assert.Equal([.. listed, wheelBrake, odometer], urls.Select(u => Guid.Parse(u.Split('/')[4])).ToArray());
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync($"{path}/i/{wheelBrake}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{vin}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{notVehicle}/thumb", Ct)).StatusCode);
    }

    [Fact]
    public async Task Share_Download_IsTheExportZipAt2048_InTheSharesOrder_OnlyWhenAllowed()
    {
        var app = fixture.App;
        var (owner, vehicle, listed, _) = await VehicleWithPhotosAsync(app);
        var (id, _, path) = await ShareAsync(owner, vehicle, new { set = "listing" });
        using var visitor = Visitor(app, "198.51.100.14");
        using (var zip = await ExportTests.ZipAsync(visitor, $"{path}/download"))
        {
            Assert.Equal(["01-exterior-front_3q_left.jpg", "02-exterior-front.jpg", "03-interior-dashboard.jpg", "photos.csv"],
                zip.Entries.Select(e => e.FullName));
            foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".jpg", StringComparison.Ordinal)))
            {
                var bytes = ExportTests.Bytes(entry);
                ExportTests.AssertNothingPrivate(entry.FullName, bytes);
                var size = MetadataExtractor.ImageMetadataReader.ReadMetadata(new MemoryStream(bytes))
                    .OfType<MetadataExtractor.Formats.Jpeg.JpegDirectory>().Single();
                Assert.True(Math.Max(size.GetImageWidth(), size.GetImageHeight()) <= 2048);
            }
            var csv = ExportTests.Csv(zip);
            Assert.All(csv.Skip(1), row => Assert.Equal("", row[2])); // no original file names for visitors
        }
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"api/shares/{id}", new { allowDownload = false }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/download", Ct)).StatusCode);
        Assert.DoesNotContain("Download all", await visitor.GetStringAsync(path, Ct));
    }

    [Fact]
    public void ConcurrentPerShare_APoolOfItsOwn_VisitorsNeverTakeTheOwnersPlaces()
    {
        var exports = fixture.App.Services.GetRequiredService<VehicleImages.Core.Export.ExportService>();
        var (owner, share, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Assert.True(exports.TryEnterShare(share, 2));
        Assert.True(exports.TryEnterShare(share, 2));
        Assert.False(exports.TryEnterShare(share, 2));
        Assert.True(exports.TryEnterShare(other, 2)); // per share
        Assert.True(exports.TryEnter(owner, 1)); // the owner's pool is untouched by visitors
        exports.ExitShare(share);
        Assert.True(exports.TryEnterShare(share, 2));
        exports.Exit(owner);
        foreach (var id in new[] { share, share, other })
            exports.ExitShare(id);
    }

    [Fact]
    public async Task Share_DeletingTheVehicleOrAccount_EndsItsShares()
    {
        var app = fixture.App;
        var (owner, vehicle, listed, _) = await VehicleWithPhotosAsync(app);
        var (_, _, path) = await ShareAsync(owner, vehicle, new { });
        using var visitor = Visitor(app, "198.51.100.15");
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync(path, Ct)).StatusCode);
        // There is no delete call for vehicles yet: the database's cascade is what ends the shares, whoever deletes the row.
        await ImageRows.ScalarAsync<int>(app.ConnectionString, "DELETE FROM vehicles WHERE id = @id; SELECT 1", ("id", vehicle));
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(path, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{path}/i/{listed[0]}/thumb", Ct)).StatusCode);

        var (owner2, vehicle2, _, _) = await VehicleWithPhotosAsync(app);
        var (_, _, path2) = await ShareAsync(owner2, vehicle2, new { });
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync(path2, Ct)).StatusCode);
        await ImageRows.ScalarAsync<int>(app.ConnectionString,
            "DELETE FROM asp_net_users WHERE id = (SELECT user_id FROM vehicles WHERE id = @id); SELECT 1", ("id", vehicle2));
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync(path2, Ct)).StatusCode);
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM share_links WHERE vehicle_id IN (@a, @b)",
            ("a", vehicle), ("b", vehicle2)));
    }
}
