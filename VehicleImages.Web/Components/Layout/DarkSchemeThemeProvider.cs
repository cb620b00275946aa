using System.Text;
using MudBlazor;

namespace VehicleImages.Web.Components.Layout;

/// <summary>
/// The dark palette inside <c>@media (prefers-color-scheme: dark)</c>, for pages without a circuit (sign-in,
/// register, and every page until it is live): they follow the device's dark setting with no script.
/// MudThemeProvider writes <c>:root{</c>, our declarations and <c>}</c>; closing its block first leaves an
/// empty <c>:root{}</c> and the dark one in the media query.
/// </summary>
public sealed class DarkSchemeThemeProvider : MudThemeProvider
{
    protected override void GenerateTheme(StringBuilder themeStringBuilder)
    {
        themeStringBuilder.AppendLine("}").AppendLine("@media (prefers-color-scheme: dark) {").AppendLine(":root {");
        base.GenerateTheme(themeStringBuilder);
        themeStringBuilder.AppendLine("}");
    }
}
