using Bunit;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Components;

public sealed class ToastEscapingTests : MudTestContext
{
    [Fact]
    public void Toast_FileNameWithMarkup_IsShownAsText()
    {
        // Toasts carry client-chosen file names and provider errors: they must never become markup.
        var provider = Render<MudBlazor.MudSnackbarProvider>();
        var snackbar = Services.GetRequiredService<MudBlazor.ISnackbar>();

        provider.InvokeAsync(() => snackbar.Add("<img src=x onerror=alert(1)>.jpg failed: <b>boom</b>", MudBlazor.Severity.Error));

        provider.WaitForAssertion(() => Assert.Contains("failed:", provider.Markup));
        Assert.Empty(provider.FindAll(".mud-snackbar img"));
        Assert.Empty(provider.FindAll(".mud-snackbar b"));
        Assert.Contains("&lt;b&gt;boom&lt;/b&gt;", provider.Markup);
    }
}
