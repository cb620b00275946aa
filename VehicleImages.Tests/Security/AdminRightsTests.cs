using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using VehicleImages.Core.Accounts;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Hubs;

namespace VehicleImages.Tests.Security;

/// <summary>
/// Admin rights come from the database, not from what a token or cookie was issued with: a demoted
/// admin's still-valid credentials stop reaching other people's photos and events at once. Roles change
/// with PUT /api/admin/users/{id}/role, decided in one transaction, so the last admin always remains.
/// </summary>
public sealed class AdminRightsTests
{
    private const string Password = "Passw0rd!";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync() =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" });

    private static Task<Guid> IdOfAsync(TestApp app, string email) =>
        ImageRows.ScalarAsync<Guid>(app.ConnectionString, "SELECT id FROM asp_net_users WHERE email = @e", ("e", email));

    private static Task<long> AdminCountAsync(TestApp app) => ImageRows.ScalarAsync<long>(app.ConnectionString,
        "SELECT count(*) FROM asp_net_user_roles ur JOIN asp_net_roles r ON r.id = ur.role_id WHERE r.name = 'Admin'");

    private static async Task<HttpResponseMessage> SetRoleAsync(HttpClient admin, Guid id, string role) =>
        await admin.PutAsJsonAsync($"api/admin/users/{id}/role", new { role }, Ct);

    [Fact]
    public async Task DemotedAdmin_StillValidTokenAndCookie_CanNoLongerReadOthersPhotos_AndKeepsTheirOwn()
    {
        await using var app = await StartAsync();
        using var first = await app.CreateUserClientAsync("first@example.test");
        using var owner = await app.CreateUserClientAsync("owner@example.test");
        using (await app.CreateUserClientAsync("second@example.test"))
        {
        }

        var promoted = await SetRoleAsync(first, await IdOfAsync(app, "second@example.test"), "Admin");
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.True((await promoted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("isAdmin").GetBoolean());

        // The second admin signs in (token and cookie, both saying Admin) and owns a vehicle of its own.
        using var anonymous = app.CreateClient();
        var tokens = await TestApp.LoginAsync(anonymous, "second@example.test", Password);
        using var token = app.CreateClient();
        token.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);
        using var cookie = await app.CreateCookieClientAsync("second@example.test");
        var ownVehicle = await UploadTests.CreateVehicleAsync(token);

        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var photo = (await UploadTests.UploadAsync(owner, vehicle, ("car.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")))))
            .Single().ImageId!.Value;
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync($"api/images/{photo}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await cookie.GetAsync($"api/images/{photo}/thumb", Ct)).StatusCode);

        var demoted = await SetRoleAsync(first, await IdOfAsync(app, "second@example.test"), "User");
        Assert.Equal(HttpStatusCode.OK, demoted.StatusCode);

        // The same token and cookie, unexpired: the owner's photo is out of reach (404, as for anyone's), deleting it too.
        Assert.Equal(HttpStatusCode.NotFound, (await token.GetAsync($"api/images/{photo}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await token.GetAsync($"api/images/{photo}/original", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await token.DeleteAsync($"api/images/{photo}", Ct)).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await cookie.GetAsync($"api/images/{photo}/thumb", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"api/images/{photo}", Ct)).StatusCode);
        // The security stamp moved: the refresh token no longer gives a new token.
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await anonymous.PostAsJsonAsync("api/auth/refresh", new { refreshToken = tokens.RefreshToken }, Ct)).StatusCode);
        // Their own vehicle is untouched.
        using var again = await app.CreateUserClientAsync("second@example.test");
        var vehicles = await again.GetFromJsonAsync<JsonElement>("api/vehicles", Ct);
        Assert.Contains(vehicles.EnumerateArray(), v => v.GetProperty("id").GetGuid() == ownVehicle);
    }

    [Fact]
    public async Task RoleChange_LastAdmin_Is409WithTheReason_BadRoleIs400_NonAdminIs403()
    {
        await using var app = await StartAsync();
        using var admin = await app.CreateUserClientAsync("first@example.test");
        using var user = await app.CreateUserClientAsync("user@example.test");
        var adminId = await IdOfAsync(app, "first@example.test");

        var last = await SetRoleAsync(admin, adminId, "User");
        Assert.Equal(HttpStatusCode.Conflict, last.StatusCode);
        Assert.Equal(AccountRoles.LastAdminReason, (await last.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await SetRoleAsync(admin, adminId, "Owner")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SetRoleAsync(admin, Guid.NewGuid(), "Admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SetRoleAsync(user, await IdOfAsync(app, "user@example.test"), "Admin")).StatusCode);
        Assert.Equal(1L, await AdminCountAsync(app));
    }

    [Fact]
    public async Task MutualDemotion_AtOnce_LeavesOneAdmin()
    {
        await using var app = await StartAsync();
        using var first = await app.CreateUserClientAsync("first@example.test");
        using (await app.CreateUserClientAsync("second@example.test"))
        {
        }

        var (firstId, secondId) = (await IdOfAsync(app, "first@example.test"), await IdOfAsync(app, "second@example.test"));
        Assert.Equal(HttpStatusCode.OK, (await SetRoleAsync(first, secondId, "Admin")).StatusCode);
        using var second = await app.CreateUserClientAsync("second@example.test");
        var clients = new Dictionary<Guid, HttpClient> { [firstId] = first, [secondId] = second };

        // Several rounds: whoever remains promotes the other again, then both demote each other at the same moment.
        for (var round = 0; round < 5; round++)
        {
            using var go = new SemaphoreSlim(0, 2);
            async Task<HttpStatusCode> Demote(HttpClient by, Guid whom)
            {
                await go.WaitAsync(Ct);
                return (await SetRoleAsync(by, whom, "User")).StatusCode;
            }

            var a = Demote(first, secondId);
            var b = Demote(second, firstId);
            go.Release(2);
            var answers = await Task.WhenAll(a, b);

            Assert.Equal(1L, await AdminCountAsync(app));
            Assert.Single(answers, s => s == HttpStatusCode.OK);
            // The other was refused: 409 (the last admin) or, had the first demotion landed before its check, 403.
            Assert.Single(answers, s => s is HttpStatusCode.Conflict or HttpStatusCode.Forbidden);

            var remaining = await ImageRows.ScalarAsync<Guid>(app.ConnectionString,
                "SELECT ur.user_id FROM asp_net_user_roles ur JOIN asp_net_roles r ON r.id = ur.role_id WHERE r.name = 'Admin'");
            var other = remaining == firstId ? secondId : firstId;
            Assert.Equal(HttpStatusCode.OK, (await SetRoleAsync(clients[remaining], other, "Admin")).StatusCode);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DemotedAdmin_OpenHubConnection_StopsReceivingOthersEvents_ButKeepsItsOwn(bool demotedOnAnotherInstance)
    {
        await using var app = await StartAsync();
        // The hub connection is on this instance; the demotion is made here or on another instance of the same database.
        await using var other = demotedOnAnotherInstance
            ? await TestApp.StartAsync(app.ConnectionString, new Dictionary<string, string?> { ["Processing:Workers"] = "0" })
            : null;
        using var first = await (other ?? app).CreateUserClientAsync("first@example.test");
        using var second = await app.CreateUserClientAsync("second@example.test");
        var secondId = await IdOfAsync(app, "second@example.test");
        Assert.Equal(HttpStatusCode.OK, (await SetRoleAsync(first, secondId, "Admin")).StatusCode);

        var othersPhoto = (await ImageRows.InsertAsync(app.ConnectionString, 1)).Single();
        var ownVehicle = await UploadTests.CreateVehicleAsync(second);
        var ownPhoto = Guid.NewGuid();
        await ImageRows.ScalarAsync<int>(app.ConnectionString,
            "INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name) VALUES (@id, @v, @u, 'own.jpg') RETURNING 1",
            ("id", ownPhoto), ("v", ownVehicle), ("u", secondId));

        using var anonymous = app.CreateClient();
        var token = (await TestApp.LoginAsync(anonymous, "second@example.test", Password)).AccessToken;
        var seen = new ConcurrentQueue<ImageStatusMessage>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        hub.On<ImageStatusMessage>("ImageStatusChanged", seen.Enqueue);
        await hub.StartAsync(Ct);

        async Task SetStatusAsync(Guid image, string status) => await ImageRows.ScalarAsync<int>(app.ConnectionString,
            "UPDATE vehicle_images SET processing_status = @s WHERE id = @id RETURNING 1", ("s", status), ("id", image));

        // As an admin, the connection hears another user's photo.
        await SetStatusAsync(othersPhoto, "failed");
        await ImageRows.WaitForAsync(() => Task.FromResult(seen.Any(m => m.ImageId == othersPhoto && m.ProcessingStatus == "failed")),
            "the admin's connection to hear another user's photo");

        Assert.Equal(HttpStatusCode.OK, (await SetRoleAsync(first, secondId, "User")).StatusCode);

        // Another user's change, then one of its own: the own one arrives, the other user's (sent first) never did.
        await SetStatusAsync(othersPhoto, "complete");
        await SetStatusAsync(ownPhoto, "failed");
        await ImageRows.WaitForAsync(() => Task.FromResult(seen.Any(m => m.ImageId == ownPhoto && m.ProcessingStatus == "failed")),
            "the demoted connection to hear its own photo");
        Assert.DoesNotContain(seen, m => m.ImageId == othersPhoto && m.ProcessingStatus == "complete");
    }
}
