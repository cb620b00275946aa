using Bunit;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Pages.Vehicles;

namespace VehicleImages.Tests.Components;

/// <summary>The categorizer groups by category, which analysis sets and events do not carry.</summary>
public sealed class LiveCategorizerTests : LivePageContext
{
    private IRenderedComponent<PhotoCategorizer> RenderCategorizer()
    {
        var page = Render<PhotoCategorizer>(p => p.Add(c => c.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-group=processing] .categorizer-photo").Count), Patience);
        Queries.Reset();
        return page;
    }

    [Fact]
    public async Task Categorizer_PhotoCompletes_FetchesThatOnePhotoAndMovesItToItsGroup()
    {
        var page = RenderCategorizer();
        await ImageRows.ScalarAsync<Guid>(Database, """
            INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source) VALUES (@id, 'exterior', 'rear', 0.9, 'ai');
            UPDATE vehicle_images SET processing_status = 'complete' WHERE id = @id RETURNING id
            """, ("id", Photos[0]));

        await Notifier.PublishStatusAsync([Event(Photos[0], ProcessingStatus.Complete)]);

        page.WaitForAssertion(() => Assert.Single(page.FindAll($"[data-group='exterior.rear'] [data-image-id='{Photos[0]}']")), Patience);
        Assert.Single(page.FindAll("[data-group=processing] .categorizer-photo"));
        Assert.Single(Queries.Commands);
    }

    [Fact]
    public async Task Categorizer_PhotoFails_PatchesItWithoutAQuery()
    {
        var page = RenderCategorizer();

        await Notifier.PublishStatusAsync([Event(Photos[1], ProcessingStatus.Failed, error: "boom")]);

        page.WaitForAssertion(() => Assert.Single(page.FindAll($"[data-group=failed] [data-image-id='{Photos[1]}']")), Patience);
        Assert.Empty(Queries.Commands);
    }
}
