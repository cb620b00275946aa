using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using NetVips;
using VehicleImages.Core.Images;
using VehicleImages.Core.Privacy;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.Listings;
using VehicleImages.Tests.TestHost;
using Image = NetVips.Image;

namespace VehicleImages.Tests.Privacy;

/// <summary>
/// What leaves the app is blurred at the boxes of a vehicle that hides them: every export size (original included), the
/// published thumb/medium/large; clear when the vehicle does not hide them. Blurred copies are made once per box set:
/// a changed box set gets new ones and the old ones are gone from the store.
/// </summary>
public sealed class PrivacyExportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Mean absolute difference inside the padded box, and the largest mean difference of the four strips around it.</summary>
    internal static (double Inside, double Outside) Difference(byte[] clear, byte[] published, BoxF box)
    {
        using var a = Image.NewFromBuffer(clear);
        using var b = Image.NewFromBuffer(published);
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        var r = PrivacyBlur.Pixels(box, a.Width, a.Height)!.Value;
        using var difference = (a.Cast(Enums.BandFormat.Short) - b.Cast(Enums.BandFormat.Short)).Abs();
        using var inside = difference.Crop(r.Left, r.Top, r.Width, r.Height);
        var strips = new[]
        {
            (0, 0, a.Width, r.Top), (0, r.Top + r.Height, a.Width, a.Height - r.Top - r.Height),
            (0, r.Top, r.Left, r.Height), (r.Left + r.Width, r.Top, a.Width - r.Left - r.Width, r.Height),
        };
        var outside = strips.Where(s => s.Item3 > 0 && s.Item4 > 0).Select(s =>
        {
            using var strip = difference.Crop(s.Item1, s.Item2, s.Item3, s.Item4);
            return strip.Avg();
        }).Max();
        return (inside.Avg(), outside);
    }

    /// <summary>The entry of the photo uploaded as <paramref name="originalName"/>, found through photos.csv.</summary>
    private static byte[] Entry(ZipArchive zip, string originalName) =>
        ExportTests.Bytes(zip.GetEntry(ExportTests.Csv(zip).Single(r => r[2] == originalName)[1])!);

    private static async Task BoxAsync(string cs, Guid image, BoxF box) =>
        await ImageRows.ScalarAsync<int>(cs, """
            DELETE FROM image_privacy_boxes WHERE image_id = @id;
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source) VALUES (@id, 'plate', @x, @y, @w, @h, 'user');
            SELECT 1
            """, ("id", image), ("x", box.X), ("y", box.Y), ("w", box.Width), ("h", box.Height));

    [Fact]
    public async Task Export_EverySize_BlurredInTheBox_UnchangedOutside_ClearWhenTheVehicleDoesNotHide_NewBoxesNewCopiesOldOnesGone()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var plate = PlatePhoto.All().First(p => p.Name == "test_088.jpg");
        var other = PlatePhoto.All().First(p => p.Name == "test_096.jpg");
        var original = File.ReadAllBytes(plate.Path);
        var uploaded = await UploadTests.UploadAsync(owner, vehicle, (plate.Name, original), (other.Name, File.ReadAllBytes(other.Path)));
        var (id, clearId) = (uploaded[0].ImageId!.Value, uploaded[1].ImageId!.Value);
        using var decoded = Image.NewFromBuffer(original);
        var box = plate.Box(decoded.Width, decoded.Height);
        await BoxAsync(cs, id, box);
        var store = app.Services.GetRequiredService<IImageStore>();
        var variants = VariantSet.FromJson(await ImageRows.ScalarAsync<string>(cs, "SELECT variants::text FROM vehicle_images WHERE id = @id", ("id", id)))!;
        var clearVariants = VariantSet.FromJson(await ImageRows.ScalarAsync<string>(cs, "SELECT variants::text FROM vehicle_images WHERE id = @id", ("id", clearId)))!;
        async Task<byte[]> Stored(string key)
        {
            await using var s = (await store.OpenReadAsync(key, Ct))!;
            using var copy = new MemoryStream();
            await s.CopyToAsync(copy, Ct);
            return copy.ToArray();
        }

        var entries = new Dictionary<string, byte[]>();
        foreach (var size in new[] { "2048", "1600", "1024", "original" })
        {
            using var zip = await ExportTests.ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=all&size={size}");
            var entry = Entry(zip, plate.Name);
            ExportTests.AssertNothingPrivate(size, entry);
            var clear = size == "original" ? original : await Stored(size == "1024" ? variants.Medium.Key : variants.Large.Key);
            var (inside, outside) = Difference(clear, entry, box);
            Assert.True(inside > 12, $"{size}: the plate changed by only {inside:0.0} on average");
            Assert.True(outside < 3, $"{size}: outside the box the pixels changed by {outside:0.0} on average");
            // The photo without boxes leaves as stored.
            if (size is "2048" or "1024")
                Assert.Equal(await Stored(size == "1024" ? clearVariants.Medium.Key : clearVariants.Large.Key), Entry(zip, other.Name));
            entries[size] = entry;
        }

        // The copies were made once for this box set: a second export serves the same bytes from the store.
        var made = await ImageRows.ScalarAsync<string>(cs, "SELECT variants::text FROM image_privacy_blurs WHERE image_id = @id", ("id", id));
        var oldHash = await ImageRows.ScalarAsync<string>(cs, "SELECT box_hash FROM image_privacy_blurs WHERE image_id = @id", ("id", id));
        var oldKeys = System.Text.Json.JsonDocument.Parse(made).RootElement.EnumerateObject().Select(p => p.Value.GetProperty("key").GetString()!).ToList();
        Assert.Equal(3, oldKeys.Count); // large (2048 and 1600), medium (1024), original
        using (var again = await ExportTests.ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=all&size=2048"))
            Assert.Equal(entries["2048"], Entry(again, plate.Name));

        // Shared pages' images: blurred too.
        var published = app.Services.GetRequiredService<IPublishedImages>();
        foreach (var size in new[] { "thumb", "medium", "large" })
        {
            var opened = (await published.OpenAsync(id, size, Ct))!;
            await using var content = opened.Content;
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, Ct);
            var (inside, outside) = Difference(await Stored(variants.Get(size)!.Key), copy.ToArray(), box);
            Assert.True(inside > 12 && outside < 3, $"published {size}: {inside:0.0} inside, {outside:0.0} outside");
        }

        // The box moves: new copies for the new box set, the old ones deleted from the store.
        var moved = box with { X = box.X / 2 };
        await BoxAsync(cs, id, moved);
        byte[] afterMove;
        await using (var opened = (await published.OpenAsync(id, "large", Ct))!.Content)
        {
            using var copy = new MemoryStream();
            await opened.CopyToAsync(copy, Ct);
            afterMove = copy.ToArray();
            var (inside, outside) = Difference(await Stored(variants.Large.Key), afterMove, moved);
            Assert.True(inside > 12 && outside < 3, $"after the move: {inside:0.0} inside, {outside:0.0} outside");
        }

        // Reviewed by the person: a detected box that raced the review does not count (ADR 022), the same copy is served.
        await ImageRows.ScalarAsync<int>(cs, """
            INSERT INTO image_privacy_reviews (image_id, reviewed_at, none_visible) VALUES (@id, now(), false);
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source) VALUES (@id, 'face', 0.8, 0.1, 0.1, 0.1, 'local');
            SELECT 1
            """, ("id", id));
        await using (var opened = (await published.OpenAsync(id, "large", Ct))!.Content)
        {
            using var copy = new MemoryStream();
            await opened.CopyToAsync(copy, Ct);
            Assert.Equal(afterMove, copy.ToArray());
        }
        Assert.NotEqual(oldHash, await ImageRows.ScalarAsync<string>(cs, "SELECT box_hash FROM image_privacy_blurs WHERE image_id = @id", ("id", id)));
        foreach (var key in oldKeys)
            Assert.Null(await store.OpenReadAsync(key, Ct));

        // The vehicle does not hide its boxes: everything leaves clear, as stored.
        await ImageRows.ScalarAsync<int>(cs, "UPDATE vehicles SET hide_privacy_boxes = false WHERE id = @v; SELECT 1", ("v", vehicle));
        using (var zip = await ExportTests.ZipAsync(owner, $"api/vehicles/{vehicle}/export?set=all&size=2048"))
            Assert.Equal(await Stored(variants.Large.Key), Entry(zip, plate.Name));
        await using (var opened = (await published.OpenAsync(id, "thumb", Ct))!.Content)
        {
            using var copy = new MemoryStream();
            await opened.CopyToAsync(copy, Ct);
            Assert.Equal(await Stored(variants.Thumb.Key), copy.ToArray());
        }
    }
}

/// <summary>Blurred copies live under the original's content hash, so the orphan sweep removes them with the photo's files.</summary>
public sealed class BlurredCopyKeyTests
{
    [Fact]
    public void Key_UnderTheContentHash_TheOrphanSweepKnowsIt_AndNamesTheBoxSet()
    {
        var sha = new string('a', 62) + "0f";
        var photo = new HiddenPhoto(Guid.Parse("0194f7a2-0000-7000-8000-000000000001"), sha, null!,
            [new BoxF("plate", 0.1, 0.2, 0.3, 0.05)], BlurredVariants.Hash([new BoxF("plate", 0.1, 0.2, 0.3, 0.05)]), new Dictionary<string, StoredObject>());

        var key = BlurredVariants.Key(photo, "large");

        Assert.Equal($"privacy/aa/{sha}/0194f7a2000070008000000000000001-{photo.BoxHash}/large.jpg", key);
        Assert.Equal(key, StorageKeys.Checked(key));
        Assert.Equal(sha, OrphanSweeper.ShaOf(key));
        // The same boxes in another order are the same set; a moved box is another.
        Assert.NotEqual(photo.BoxHash, BlurredVariants.Hash([new BoxF("plate", 0.1, 0.21, 0.3, 0.05)]));
        Assert.Equal(BlurredVariants.Hash([new BoxF("face", 0.5, 0.5, 0.1, 0.1), new BoxF("plate", 0.1, 0.2, 0.3, 0.05)]),
            BlurredVariants.Hash([new BoxF("plate", 0.1, 0.2, 0.3, 0.05), new BoxF("face", 0.5, 0.5, 0.1, 0.1)]));
    }
}
