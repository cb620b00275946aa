using System.Net.Http.Json;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;

namespace VehicleImages.Tests.Integration;

/// <summary>Each test starts the app on a database of its own, so "first account" means first ever.</summary>
public sealed class FirstAccountTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> FreshAppAsync() =>
        await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());

    [Fact]
    public async Task Register_FirstAccountIsAdmin_LaterAccountsAreUsers()
    {
        await using var app = await FreshAppAsync();
        using var first = await app.CreateUserClientAsync("first@example.test");
        using var second = await app.CreateUserClientAsync("second@example.test");

        var firstMe = await first.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct);
        var secondMe = await second.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct);

        Assert.Equal(["Admin"], firstMe!.Roles);
        Assert.Equal(["User"], secondMe!.Roles);
        Assert.Equal("second@example.test", secondMe.Email);
    }

    [Fact]
    public async Task Register_ManyAtOnceOnAnEmptySystem_ExactlyOneAdmin()
    {
        await using var app = await FreshAppAsync();

        var clients = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => app.CreateUserClientAsync($"racer{i}@example.test")));
        var roles = await Task.WhenAll(clients.Select(c => c.GetFromJsonAsync<CurrentUser>("api/auth/me", Ct)));

        Assert.Single(roles, r => r!.Roles.Contains("Admin"));
        Assert.Equal(5, roles.Count(r => r!.Roles.SequenceEqual(["User"])));
        foreach (var c in clients)
            c.Dispose();
    }
}
