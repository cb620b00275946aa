using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>An instance with Accounts:Registration = invite.</summary>
public sealed class InviteOnlyAppFixture : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:Registration"] = "invite",
        ["Processing:Workers"] = "0",
    };
}

public sealed class InvitationFlowTests(InviteOnlyAppFixture app, BrowserFixture browser)
    : IClassFixture<InviteOnlyAppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_AdminCreatesInvitationLink_NewcomerRegistersThroughIt_AndSeesTheirUsage() =>
        browser.RunAsync(app.App.BaseAddress, "invitation-flow", async page =>
        {
            // A fresh install: the first account needs no invitation and becomes the admin.
            await BrowserSteps.RegisterAsync(page, "admin@example.test");
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Your vehicles");

            await page.GotoAsync("admin/processing");
            await Expect(page.Locator("#registration-mode")).ToContainTextAsync("by invitation");
            await Expect(page.Locator("#create-invitation")).ToBeEnabledAsync(); // interactive
            await page.Locator("#create-invitation").ClickAsync();
            var link = page.Locator("#invitation-url");
            await Expect(link).ToContainTextAsync("/account/register?invitation=");
            var url = await link.TextContentAsync();

            // Someone else, not signed in: without the link there is no form; with it there is.
            await page.Context.ClearCookiesAsync();
            await page.GotoAsync("account/register");
            await Expect(page.Locator("#registration-refused")).ToContainTextAsync("by invitation only");
            await page.GotoAsync(url!);
            await Expect(page.Locator("#invited")).ToBeVisibleAsync();
            await page.Locator("#email").FillAsync("newcomer@example.test");
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#confirm").FillAsync("Passw0rd!");
            await page.Locator("#register").ClickAsync();
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Your vehicles");

            // The user menu leads to their usage. It opens once the page is interactive: until then, click again.
            var item = page.GetByText("Usage and limits");
            for (var i = 0; i < 20 && !await item.IsVisibleAsync(); i++)
            {
                await page.Locator(".user-menu button").First.ClickAsync();
                await page.WaitForTimeoutAsync(500);
            }

            await item.ClickAsync();
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Your account");
            await Expect(page.Locator("#usage-photos")).ToContainTextAsync("0 (no limit)");
        });
}
