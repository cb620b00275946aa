using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>Steps several browser tests begin with, done the way a person does them.</summary>
public static class BrowserSteps
{
    public static async Task RegisterAsync(IPage page, string email)
    {
        await page.GotoAsync("account/register");
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync("Passw0rd!");
        await page.Locator("#confirm").FillAsync("Passw0rd!");
        await page.Locator("#register").ClickAsync();
    }

    /// <summary>Creates a vehicle from the home page and opens its empty gallery, with the uploader wired.</summary>
    public static async Task CreateVehicleAndOpenGalleryAsync(IPage page, string name)
    {
        await page.Locator("#new-vehicle").ClickAsync();
        await page.Locator("#vehicle-name").FillAsync(name);
        await page.Locator("#create-vehicle").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Open gallery (0)" }).ClickAsync();
        await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
    }
}
