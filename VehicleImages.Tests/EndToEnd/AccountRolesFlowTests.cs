using System.Net.Http.Json;
using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>The roles panel on /admin/processing: promote an account, and the last admin is told why it cannot be demoted.</summary>
public sealed class AccountRolesFlowTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_LastAdminIsToldWhy_ThenPromotesAnother_WhoCanThenBeDemoted() =>
        browser.RunAsync(app.App.BaseAddress, "account-roles", async page =>
        {
            await BrowserSteps.RegisterAsync(page, "admin@example.test");
            using (var anonymous = app.App.CreateClient())
                (await anonymous.PostAsJsonAsync("api/auth/register", new { email = "helper@example.test", password = "Passw0rd!" },
                    TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();

            await page.GotoAsync("admin/processing");
            var table = page.Locator("#account-roles");
            var demoteSelf = page.GetByRole(AriaRole.Button, new() { Name = "Make user: admin@example.test" });
            await Expect(demoteSelf).ToBeEnabledAsync(); // interactive

            await demoteSelf.ClickAsync();
            await Expect(page.GetByText("This is the last administrator account")).ToBeVisibleAsync();
            await Expect(table.Locator("tr", new() { HasText = "admin@example.test" })).ToContainTextAsync("Admin");

            await page.GetByRole(AriaRole.Button, new() { Name = "Make admin: helper@example.test" }).ClickAsync();
            await Expect(page.GetByText("helper@example.test is now an administrator.")).ToBeVisibleAsync();
            await Expect(table.Locator("tr", new() { HasText = "helper@example.test" }).Locator("td").Nth(1)).ToHaveTextAsync("Admin");
            Assert.Equal(2L, await AdminsAsync());

            await page.GetByRole(AriaRole.Button, new() { Name = "Make user: helper@example.test" }).ClickAsync();
            await Expect(table.Locator("tr", new() { HasText = "helper@example.test" }).Locator("td").Nth(1)).ToHaveTextAsync("User");
            Assert.Equal(1L, await AdminsAsync());
        });

    private Task<long> AdminsAsync() => ImageRows.ScalarAsync<long>(app.App.ConnectionString,
        "SELECT count(*) FROM asp_net_user_roles ur JOIN asp_net_roles r ON r.id = ur.role_id WHERE r.name = 'Admin'");
}
