using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Shared;

namespace VehicleImages.Tests.Components;

/// <summary>A photo kept despite a flaw (ADR 012) shows its warning in the detail view.</summary>
public sealed class ImageDetailWarningTests : LivePageContext
{
    [Fact]
    public async Task ImageDetail_PhotoWithAnIngestWarning_ShowsIt()
    {
        const string warning = "the file ends early: the last 24 of 2160 rows (1.1%) are missing and show grey.";
        await ImageRows.ScalarAsync<int>(Database,
            "UPDATE vehicle_images SET exif_data = jsonb_build_object('ingestWarnings', jsonb_build_array(@w::text)) WHERE id = @id RETURNING 1",
            ("w", warning), ("id", Photos[0]));
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();

        var parameters = new DialogParameters<ImageDetailDialog> { { d => d.ImageId, Photos[0] }, { d => d.Caller, new Caller(Owner, false) } };
        await provider.InvokeAsync(() => dialogs.ShowAsync<ImageDetailDialog>("IMG_1.jpg", parameters));

        provider.WaitForAssertion(() => Assert.Equal(warning, provider.Find(".ingest-warning").TextContent.Trim()), Patience);
    }

    [Fact]
    public async Task ImageDetail_PhotoWithoutWarnings_ShowsNone()
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();

        var parameters = new DialogParameters<ImageDetailDialog> { { d => d.ImageId, Photos[1] }, { d => d.Caller, new Caller(Owner, false) } };
        await provider.InvokeAsync(() => dialogs.ShowAsync<ImageDetailDialog>("IMG_2.jpg", parameters));

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll("#exif-table")), Patience);
        Assert.Empty(provider.FindAll(".ingest-warning"));
    }
}
