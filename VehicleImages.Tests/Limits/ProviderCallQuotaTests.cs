using System.Net.Http.Json;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;

namespace VehicleImages.Tests.Limits;

/// <summary>Quotas:ProviderCallsPerDay through the real queue, against a fake OpenAI-compatible provider.</summary>
public sealed class ProviderCallQuotaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ProviderCalls_OverTheDailyQuota_PhotosWaitPendingWhileOthersGoOn_ThenResume()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Tier1["quality_score"] = 6; // below Tier2MinQuality: one call (tier 1) per photo
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis:Model"] = "vision-test-model",
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Quotas:ProviderCallsPerDay"] = "1",
        });
        var cs = app.ConnectionString;
        using var owner = await app.CreateUserClientAsync();
        using var other = await app.CreateUserClientAsync();
        var ownerId = (await owner.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct))!.Id;
        var ownerVehicle = await UploadTests.CreateVehicleAsync(owner);
        var otherVehicle = await UploadTests.CreateVehicleAsync(other);
        async Task<Guid> UploadAsync(HttpClient client, Guid vehicle, string file) =>
            (await UploadTests.UploadAsync(client, vehicle, (file, File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value;
        Task<long> StatusAsync(Guid id, string status) => ImageRows.CountAsync(cs, "id = @id AND processing_status = @s", ("id", id), ("s", status));

        var first = await UploadAsync(owner, ownerVehicle, "exif-samples__Canon_40D.jpg");
        await ImageRows.WaitForAsync(async () => await StatusAsync(first, "complete") == 1, "the owner's first photo to be analysed");
        var waiting = await UploadAsync(owner, ownerVehicle, "exif-samples__Kodak_CX7530.jpg");
        var theirs = await UploadAsync(other, otherVehicle, "exif-samples__Kodak_CX7530.jpg");
        // The other account's photo, uploaded after the waiting one, is analysed: the queue went past it.
        await ImageRows.WaitForAsync(async () => await StatusAsync(theirs, "complete") == 1, "the other account's photo to be analysed");
        await Task.Delay(TimeSpan.FromSeconds(3), Ct); // longer than the claimer's fallback poll

        Assert.Equal(1L, await StatusAsync(waiting, "pending"));
        Assert.Equal(0, await ImageRows.ScalarAsync<int>(cs, "SELECT attempt FROM image_processing_jobs WHERE image_id = @id", ("id", waiting)));
        Assert.Equal(2, fake.Calls.Count);
        Assert.Equal(1, await ImageRows.ScalarAsync<int>(cs, "SELECT provider_calls FROM user_daily_usage WHERE user_id = @u AND day = (now() AT TIME ZONE 'UTC')::date",
            ("u", ownerId)));

        // The day turns (the owner's count moves to yesterday): the waiting photo goes on by itself.
        await ImageRows.ScalarAsync<int>(cs, "WITH moved AS (UPDATE user_daily_usage SET day = day - 1 WHERE user_id = @u RETURNING 1) SELECT count(*)::int FROM moved", ("u", ownerId));
        await ImageRows.WaitForAsync(async () => await StatusAsync(waiting, "complete") == 1, "the waiting photo to be analysed on the new day");
        Assert.Equal(3, fake.Calls.Count);
    }
}
