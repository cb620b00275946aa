using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Images;
using VehicleImages.Core.Privacy;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Privacy;

/// <summary>
/// The detector in the pipeline (before tier 1, on every photo), its backfill for photos stored before it, and the rule
/// that a person's boxes outrank it: a photo with a user box or a review never gets local boxes.
/// </summary>
public sealed class PrivacyDetectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<long> Count(string cs, string where, Guid id) =>
        ImageRows.ScalarAsync<long>(cs, $"SELECT count(*) FROM image_privacy_boxes WHERE image_id = @id AND {where}", ("id", id));

    private static async Task<bool> Matches(string cs, Guid id, PlatePhoto photo, int width, int height)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cs);
        await connection.OpenAsync(Ct);
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT kind, x, y, width, height FROM image_privacy_boxes WHERE image_id = @id AND source = 'local'", connection);
        cmd.Parameters.AddWithValue("id", id);
        await using var reader = await cmd.ExecuteReaderAsync(Ct);
        var truth = photo.Box(width, height);
        var matched = false;
        while (await reader.ReadAsync(Ct))
            matched |= reader.GetString(0) == "plate" && PrivacyDetector.IoU(new BoxF("plate", reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4)), truth) >= 0.3;
        return matched;
    }

    [Fact]
    public async Task Pipeline_FindsThePlate_BeforeTheAnalysis_AndRecordsTheScan()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Privacy:LocalDetector"] = "true", ["Processing:Workers"] = "1" });
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var photo = PlatePhoto.All().First(p => p.Name == "test_088.jpg");
        var id = (await UploadTests.UploadAsync(owner, vehicle, (photo.Name, File.ReadAllBytes(photo.Path))))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", id)) == 1, "the photo's analysis");
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_privacy_scans WHERE image_id = @id", ("id", id)));
        var (w, h) = (await ImageRows.ScalarAsync<int>(cs, "SELECT width FROM vehicle_images WHERE id = @id", ("id", id)),
            await ImageRows.ScalarAsync<int>(cs, "SELECT height FROM vehicle_images WHERE id = @id", ("id", id)));
        Assert.True(await Matches(cs, id, photo, w, h), "no local plate box over the plate");
    }

    [Fact]
    public async Task Backfill_ScansPhotosStoredBefore_Once_AndNeverTouchesAPhotoAPersonReviewed()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        // No workers: the photos are stored as before the detector existed; the test runs the backfill itself.
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Privacy:LocalDetector"] = "true", ["Processing:Workers"] = "0" });
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var photos = PlatePhoto.All().Where(p => p.Name is "test_088.jpg" or "test_096.jpg" or "test_090.jpg").ToList();
        var uploaded = await UploadTests.UploadAsync(owner, vehicle, [.. photos.Select(p => (p.Name, File.ReadAllBytes(p.Path)))]);
        var (plain, userBoxed, reviewed) = (uploaded[0].ImageId!.Value, uploaded[1].ImageId!.Value, uploaded[2].ImageId!.Value);
        await ImageRows.ScalarAsync<int>(cs, """
            INSERT INTO image_privacy_boxes (image_id, kind, x, y, width, height, source) VALUES (@u, 'face', 0.1, 0.1, 0.2, 0.2, 'user');
            INSERT INTO image_privacy_reviews (image_id, reviewed_at, none_visible) VALUES (@r, now(), true);
            SELECT 1
            """, ("u", userBoxed), ("r", reviewed));

        var backfill = app.Services.GetRequiredService<PrivacyBackfill>();
        Assert.Equal(3, await backfill.RunAsync(Ct));
        Assert.Equal(0, await backfill.RunAsync(Ct)); // scanned: skipped from now on

        Assert.True(await Count(cs, "source = 'local'", plain) > 0);
        Assert.Equal((0L, 1L), (await Count(cs, "source = 'local'", userBoxed), await Count(cs, "source = 'user'", userBoxed)));
        Assert.Equal(0L, await Count(cs, "true", reviewed));
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_privacy_scans"));

        // A retried attempt of the step skips a scanned photo: a person's later edits stand, the boxes stay as they are.
        await ImageRows.ScalarAsync<int>(cs, "DELETE FROM image_privacy_boxes WHERE image_id = @id; SELECT 1", ("id", plain));
        var variants = VariantSet.FromJson(await ImageRows.ScalarAsync<string>(cs, "SELECT variants::text FROM vehicle_images WHERE id = @id", ("id", plain)));
        await app.Services.GetRequiredService<PrivacyDetectorStep>().RunAsync(new AnalysisRequest(plain, "x.jpg", null, null, variants, null), Ct);
        Assert.Equal(0L, await Count(cs, "true", plain));
    }
}
