using System.Net;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Accounts;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Auth;

namespace VehicleImages.Tests.Security;

/// <summary>
/// A demoted admin loses admin actions: at once for API calls (the Admin policy reads the role from
/// the database, not from the token's claims), within Accounts:RevalidateSeconds for an open page,
/// whose handlers also check the role themselves before they act.
/// </summary>
public sealed class DemotionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DemotedAdmin_TokenStillSaysAdmin_ApiIs403AtOnce_AndTheOpenPageIsSignedOut()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0", ["Accounts:RevalidateSeconds"] = "1" });
        using var admin = await app.CreateUserClientAsync("first-admin@example.test");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/admin/processing", Ct)).StatusCode);

        // An open page of that admin: its circuit's authentication state, as Blazor sets it.
        await using var circuit = app.Services.CreateAsyncScope();
        var users = circuit.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var user = (await users.FindByEmailAsync("first-admin@example.test"))!;
        var principal = await circuit.ServiceProvider.GetRequiredService<SignInManager<AppUser>>().CreateUserPrincipalAsync(user);
        var state = circuit.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        var signedOut = new TaskCompletionSource<AuthenticationState>(TaskCreationOptions.RunContinuationsAsynchronously);
        ((IHostEnvironmentAuthenticationStateProvider)state).SetAuthenticationState(Task.FromResult(new AuthenticationState(principal)));
        state.AuthenticationStateChanged += async changed => signedOut.TrySetResult(await changed);
        var guard = circuit.ServiceProvider.GetRequiredService<AdminGuard>();
        Assert.True(await guard.AllowedAsync());

        // Demoted in the database, by another admin or the operator.
        await using (var other = app.Services.CreateAsyncScope())
        {
            var manager = other.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var same = (await manager.FindByIdAsync(user.Id.ToString()))!;
            Assert.True((await manager.RemoveFromRoleAsync(same, Roles.Admin)).Succeeded);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("api/admin/processing", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsync("api/admin/processing/pause", null, Ct)).StatusCode);
        Assert.False(await guard.AllowedAsync());

        var after = await signedOut.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(after.User.Identity?.IsAuthenticated ?? false);
    }

    [Fact]
    public async Task Revalidation_KeepsAnUnchangedAdminOrUser_AndDropsAChangedStampOrRole()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var _ = await app.CreateUserClientAsync("first-admin@example.test");
        using var __ = await app.CreateUserClientAsync("someone@example.test");

        await using var scope = app.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<AppUser>>();
        var provider = (RevalidatingIdentityStateProvider)scope.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        async Task<AuthenticationState> StateOf(string email) =>
            new(await signIn.CreateUserPrincipalAsync((await users.FindByEmailAsync(email))!));

        var admin = await StateOf("first-admin@example.test");
        var someone = await StateOf("someone@example.test");
        Assert.True(admin.User.IsInRole(Roles.Admin));
        Assert.True(await provider.StillValidAsync(admin, Ct));
        Assert.True(await provider.StillValidAsync(someone, Ct));

        // Promoted: the page signed in as a plain user no longer matches and is signed out to pick up the role.
        var user = (await users.FindByEmailAsync("someone@example.test"))!;
        Assert.True((await users.AddToRoleAsync(user, Roles.Admin)).Succeeded);
        Assert.False(await provider.StillValidAsync(someone, Ct));

        // Signed out everywhere (a new security stamp): the admin's page is signed out too.
        Assert.True((await users.UpdateSecurityStampAsync((await users.FindByEmailAsync("first-admin@example.test"))!)).Succeeded);
        Assert.False(await provider.StillValidAsync(admin, Ct));
    }
}
