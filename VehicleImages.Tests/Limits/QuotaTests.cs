using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;
using VehicleImages.Web.Endpoints;

namespace VehicleImages.Tests.Limits;

/// <summary>Per-account quotas on the real app: each test starts one with the quotas it needs.</summary>
public sealed class QuotaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(params (string Key, string Value)[] settings) =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            settings.Append((Key: "Processing:Workers", Value: "0")).ToDictionary(s => s.Key, s => (string?)s.Value));

    private static (string Name, byte[] Bytes) Photo(string file) => (file, File.ReadAllBytes(TestData.Image(file)));

    private static async Task<Guid> UserIdAsync(HttpClient client) => (await client.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct))!.Id;

    [Fact]
    public async Task Upload_OverStoredBytes_RejectsThatFileWithAReasonAndKeepsItsNeighbours()
    {
        // Canon (7,958 B) and Kodak (5,958 B) fit in 20,000 bytes; DSCN0010 (161,713 B) does not.
        await using var app = await StartAsync(("Quotas:MaxStoredBytes", "20000"));
        using var client = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var big = Photo("exif-samples__DSCN0010.jpg");

        var results = await UploadTests.UploadAsync(client, vehicleId, Photo("exif-samples__Canon_40D.jpg"), big, Photo("exif-samples__Kodak_CX7530.jpg"));

        Assert.Equal([IngestOutcome.Created, IngestOutcome.Rejected, IngestOutcome.Created], results.Select(r => r.Outcome));
        Assert.Equal("your storage is full: 7.8 KiB of your 19.5 KiB are in use and this file needs 157.9 KiB. " +
                     "Delete photos you no longer need, or ask an administrator for more space.", results[1].Error);
        Assert.Null(results[1].ImageId);
        Assert.Equal(2L, await ImageRows.CountAsync(app.ConnectionString, "vehicle_id = @v", ("v", vehicleId)));
        var sha = Convert.ToHexStringLower(SHA256.HashData(big.Bytes));
        Assert.Empty(Directory.GetFiles(app.StorageRoot, $"*{sha}*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Upload_OverPhotosPerDay_RejectsUntilTheDayTurns_DuplicatesAndOtherUsersUnaffected()
    {
        await using var app = await StartAsync(("Quotas:PhotosPerDay", "2"));
        using var client = await app.CreateUserClientAsync();
        using var neighbour = await app.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var first = Photo("exif-samples__Canon_40D.jpg");

        var results = await UploadTests.UploadAsync(client, vehicleId, first, Photo("exif-samples__Kodak_CX7530.jpg"), Photo("exif-samples__DSCN0010.jpg"));
        var again = await UploadTests.UploadAsync(client, vehicleId, first);
        var theirs = await UploadTests.UploadAsync(neighbour, await UploadTests.CreateVehicleAsync(neighbour), Photo("exif-samples__DSCN0010.jpg"));

        Assert.Equal([IngestOutcome.Created, IngestOutcome.Created, IngestOutcome.Rejected], results.Select(r => r.Outcome));
        Assert.StartsWith("you have uploaded 2 photos today, your daily limit. Upload this one after midnight UTC (in ", results[2].Error);
        Assert.EndsWith("or ask an administrator for a higher limit.", results[2].Error);
        // A duplicate stores nothing new, so it answers as a duplicate, not as a refusal.
        Assert.Equal((IngestOutcome.Duplicate, results[0].ImageId), (again[0].Outcome, again[0].ImageId));
        Assert.Equal(IngestOutcome.Created, theirs[0].Outcome);

        // Tomorrow: the same file is accepted.
        await ImageRows.ScalarAsync<int>(app.ConnectionString, "WITH moved AS (UPDATE user_daily_usage SET day = day - 1 WHERE user_id = @u RETURNING 1) SELECT count(*)::int FROM moved",
            ("u", await UserIdAsync(client)));
        var tomorrow = await UploadTests.UploadAsync(client, vehicleId, Photo("exif-samples__DSCN0010.jpg"));
        Assert.Equal(IngestOutcome.Created, tomorrow[0].Outcome);
    }

    [Fact]
    public async Task Upload_ManyAtOnce_NeverMoreThanThePhotosPerDay()
    {
        await using var app = await StartAsync(("Quotas:PhotosPerDay", "3"));
        using var client = await app.CreateUserClientAsync();
        var files = Enumerable.Range(1, 8).Select(i => Photo($"exif-orientation-examples__Landscape_{i}.jpg")).ToArray();
        var vehicles = await Task.WhenAll(files.Select((_, i) => UploadTests.CreateVehicleAsync(client, $"car {i}")));

        // Eight requests at once, each to a vehicle of its own, so nothing but the quota orders them.
        var results = (await Task.WhenAll(files.Select((f, i) => UploadTests.UploadAsync(client, vehicles[i], f)))).Select(r => r[0]).ToList();

        Assert.Equal(3, results.Count(r => r.Outcome == IngestOutcome.Created));
        Assert.Equal(5, results.Count(r => r.Outcome == IngestOutcome.Rejected && r.Error!.Contains("daily limit")));
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM vehicle_images"));
        Assert.Equal(3, await ImageRows.ScalarAsync<int>(app.ConnectionString, "SELECT photos FROM user_daily_usage"));
    }

    [Fact]
    public async Task Usage_ApiAndPages_ShowEachAccountAgainstItsQuotas()
    {
        await using var app = await StartAsync(("Quotas:PhotosPerDay", "2"), ("Quotas:MaxStoredBytes", "1048576"), ("Quotas:ProviderCallsPerDay", "50"));
        using var admin = await app.CreateUserClientAsync("admin@example.test");
        using var user = await app.CreateUserClientAsync("user@example.test");
        var vehicleId = await UploadTests.CreateVehicleAsync(user);
        await UploadTests.UploadAsync(user, vehicleId, Photo("exif-samples__Canon_40D.jpg"), Photo("exif-samples__Kodak_CX7530.jpg"));

        var own = await user.GetFromJsonAsync<AccountUsageResponse>("api/account/usage", Ct);
        var forbidden = await user.GetAsync("api/admin/users/usage", Ct);
        var everyone = await admin.GetFromJsonAsync<JsonElement>("api/admin/users/usage", Ct);

        Assert.Equal(("user@example.test", 2, 7958L + 5958, 1048576L, 2, 2, 0, 50), (own!.Email, own.Photos, own.StoredBytes, own.MaxStoredBytes,
            own.PhotosToday, own.PhotosPerDay, own.ProviderCallsToday, own.ProviderCallsPerDay));
        Assert.Equal(["photosPerDay"], own.Reached);
        Assert.True(own.DayEndsAt > DateTimeOffset.UtcNow && own.DayEndsAt <= DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(2, everyone.GetProperty("quotas").GetProperty("photosPerDay").GetInt32());
        var row = everyone.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("email").GetString() == "user@example.test");
        Assert.Equal((2, 13916L, 2, "photosPerDay"), (row.GetProperty("photos").GetInt32(), row.GetProperty("storedBytes").GetInt64(),
            row.GetProperty("photosToday").GetInt32(), row.GetProperty("reached").EnumerateArray().Single().GetString()));
        Assert.Equal(2, everyone.GetProperty("users").GetArrayLength());

        // The pages, as their server render shows them.
        using var userPage = await app.CreateCookieClientAsync("user@example.test");
        var account = WebUtility.HtmlDecode(await userPage.GetStringAsync("account", Ct));
        Assert.Contains("13.6 KiB of 1 MiB", account);
        Assert.Contains("2 of 2", account);
        Assert.Contains("0 of 50", account);
        Assert.Contains("That is today's limit: more uploads are accepted after midnight UTC", account);
        using var adminPage = await app.CreateCookieClientAsync("admin@example.test");
        var processing = WebUtility.HtmlDecode(await adminPage.GetStringAsync("admin/processing", Ct));
        var table = processing[processing.IndexOf("users-usage-table", StringComparison.Ordinal)..];
        Assert.Contains("user@example.test", table);
        Assert.Contains("photos today", table);
        Assert.Contains("Quotas per account: 1 MiB stored, 2 photos a day, 50 analysis calls a day.", processing);
    }
}
