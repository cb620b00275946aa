using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Hubs;

namespace VehicleImages.Tests.Live;

public sealed class SignalRTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HubConnection Hub, ConcurrentQueue<ImageStatusMessage> Seen)> ConnectAsync(TestApp app, string email)
    {
        using var anonymous = app.CreateClient();
        var token = (await TestApp.LoginAsync(anonymous, email, "Passw0rd!")).AccessToken;
        var seen = new ConcurrentQueue<ImageStatusMessage>();
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        hub.On<ImageStatusMessage>("ImageStatusChanged", seen.Enqueue);
        await hub.StartAsync(Ct);
        return (hub, seen);
    }

    [Fact]
    public async Task Hub_OnOneInstance_SeesStatusChangesMadeByAnotherAndOnlyTheOwnersOwn()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-live-").FullName;
        // Instance A serves pages and the API only; instance B does all the work.
        await using var a = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" }, storageRoot: storage);
        var analyzer = new ScriptedAnalyzer { Delay = TimeSpan.FromMilliseconds(300) };
        await using var b = await TestApp.StartAsync(cs, null, s => s.AddSingleton<IImageAnalyzer>(analyzer), storage);

        using var admin = await a.CreateUserClientAsync("admin@example.test");
        using var owner = await a.CreateUserClientAsync("owner@example.test");
        using var other = await a.CreateUserClientAsync("other@example.test");
        var (ownerHub, ownerSeen) = await ConnectAsync(a, "owner@example.test");
        var (otherHub, otherSeen) = await ConnectAsync(a, "other@example.test");
        var (adminHub, adminSeen) = await ConnectAsync(a, "admin@example.test");
        await using (ownerHub)
        await using (otherHub)
        await using (adminHub)
        {
            var vehicle = await UploadTests.CreateVehicleAsync(owner);
            var id = (await UploadTests.UploadAsync(owner, vehicle, ("car.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg"))))).Single().ImageId!.Value;

            await ImageRows.WaitForAsync(() => Task.FromResult(ownerSeen.Any(m => m.ImageId == id && m.ProcessingStatus == "complete")),
                "the owner's client to hear that the photo is complete");
            await ImageRows.WaitForAsync(() => Task.FromResult(adminSeen.Any(m => m.ImageId == id && m.ProcessingStatus == "complete")),
                "the admin's client to hear it too");

            Assert.Contains(ownerSeen, m => m.ImageId == id && m.ProcessingStatus == "processing");
            var complete = ownerSeen.Last(m => m.ImageId == id);
            Assert.Equal((vehicle, "complete", 1), (complete.VehicleId, complete.ProcessingStatus, complete.Attempts));
            Assert.Empty(otherSeen);
        }

        Directory.Delete(storage, recursive: true);
    }

    [Fact]
    public async Task Hub_Anonymous_IsRefused()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var hub = new HubConnectionBuilder().WithUrl(new Uri(app.BaseAddress, "hubs/processing")).Build();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync(Ct));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
