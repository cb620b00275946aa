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

    /// <summary>
    /// Focuses the drop zone the way <paramref name="focus"/> says, presses Enter and returns the file chooser it opened.
    /// The wait for the chooser starts before the focus, not with the key: Playwright turns the browser's file-chooser
    /// interception on when a wait starts, and a key sent in the same breath can reach the page first, opening a chooser
    /// nobody intercepts (puppeteer#6040 describes the race). The focus's round trip puts the interception first.
    /// </summary>
    public static async Task<IFileChooser> ChooseFilesWithEnterAsync(IPage page, Func<Task> focus, float timeout = 30_000)
    {
        var chooser = page.WaitForFileChooserAsync(new() { Timeout = timeout });
        await focus();
        await page.Keyboard.PressAsync("Enter");
        return await chooser;
    }

    /// <summary>
    /// The element's box once it has stopped moving (a dialog opening animates its content): the mouse steps a test takes
    /// from a box read mid-animation land off by the animation's offset. Playwright's trial hover waits for the element
    /// to be visible and stable (the same box over two animation frames) without moving the mouse.
    /// </summary>
    public static async Task<LocatorBoundingBoxResult> SettledBoxAsync(ILocator element)
    {
        await element.HoverAsync(new() { Trial = true });
        return await element.BoundingBoxAsync() ?? throw new InvalidOperationException("the element is not shown");
    }
}
