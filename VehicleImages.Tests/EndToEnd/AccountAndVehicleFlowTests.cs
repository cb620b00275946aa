using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

public sealed class AccountAndVehicleFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_RegisterCreateVehicleSignOutSignIn_SeesTheVehicle() =>
        browser.RunAsync(app.App.BaseAddress, "register-create-vehicle", async page =>
        {
            var failedAssets = new List<string>();
            page.Response += (_, r) =>
            {
                if (r.Status >= 400 && r.Url.StartsWith(app.App.BaseAddress.ToString()))
                    failedAssets.Add($"{r.Status} {r.Url}");
            };

            // Anonymous: the home page sends a person to sign in.
            await page.GotoAsync("");
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));

            await page.GetByText("Create an account").ClickAsync();
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Create an account");
            await page.Locator("#email").FillAsync("owner@example.test");
            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#confirm").FillAsync("Passw0rd!");
            await page.Locator("#register").ClickAsync();

            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Your vehicles");
            await Expect(page.Locator("#empty-state")).ToBeVisibleAsync();
            // The first account is the admin, so the admin link shows.
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Admin" })).ToBeVisibleAsync();

            await page.Locator("#new-vehicle").ClickAsync();
            var create = page.Locator("#create-vehicle");
            await Expect(create).ToBeVisibleAsync();
            await create.ClickAsync();
            // Nothing is created without a name; the dialog says why.
            await Expect(page.GetByText("Give the vehicle a name.").First).ToBeVisibleAsync();

            await page.Locator("#vehicle-name").FillAsync("<b>1967</b> Mustang");
            await page.Locator("#vehicle-make").FillAsync("Ford");
            await page.Locator("#vehicle-year").FillAsync("1967");
            await create.ClickAsync();

            var card = page.Locator(".vehicle-card");
            await Expect(card).ToHaveCountAsync(1);
            // Text a person typed is shown as text, never as markup.
            await Expect(card.Locator(".vehicle-name")).ToHaveTextAsync("<b>1967</b> Mustang");
            await Expect(card).ToContainTextAsync("1967 Ford");
            await Expect(card).ToContainTextAsync("0 analyzed");

            // Sign out through the user menu, then sign in again and find the vehicle still there.
            await page.Locator(".user-menu button").First.ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
            await Expect(page.Locator("#page-title")).ToHaveTextAsync("Sign in");

            await page.Locator("#email").FillAsync("owner@example.test");
            await page.Locator("#password").FillAsync("wrong-password1");
            await page.Locator("#sign-in").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong email or password.");

            await page.Locator("#password").FillAsync("Passw0rd!");
            await page.Locator("#sign-in").ClickAsync();
            await Expect(page.Locator(".vehicle-card .vehicle-name")).ToHaveTextAsync("<b>1967</b> Mustang");

            Assert.Empty(failedAssets);
        });
}
