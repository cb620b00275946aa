using Bunit;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Embeddings;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Pages.Vehicles;

namespace VehicleImages.Tests.Components;

/// <summary>
/// The gallery shows a stack as one card, its best (the sharper), with "+N similar" that opens it; a photo that joins the
/// stack while the page is open shows in it.
/// </summary>
public sealed class StackedGalleryTests : LivePageContext
{
    private StackService? _stacks;
    private SuggestionService? _suggestions;

    // Registered before the context hands out its first service; built on the test's database in the test.
    public StackedGalleryTests()
    {
        Services.AddSingleton(_ => _stacks!);
        Services.AddSingleton(_ => _suggestions!);
    }

    private async Task<Guid> MeasuredAsync(string name, double focus)
    {
        var id = await InsertPhotoAsync(name, ProcessingStatus.Complete);
        await ImageRows.ScalarAsync<int>(Database,
            "INSERT INTO image_embeddings (image_id, vector, focus, exposure, model) VALUES (@id, '{1}', @f, 0.1, 'test'); SELECT 1",
            ("id", id), ("f", focus));
        return id;
    }

    private Task JoinAsync(Guid stack, Guid image) => ImageRows.ScalarAsync<int>(Database,
        "INSERT INTO image_stack_members (image_id, stack_id, stands_alone) VALUES (@i, @s, false); SELECT 1", ("i", image), ("s", stack));

    private static string[] Names(IRenderedComponent<VehicleGallery> page) =>
        [.. page.FindAll(".photo-card .photo-name").Select(n => n.TextContent).Order()];

    [Fact]
    public async Task Gallery_StackIsOneCardWithItsCount_OpensOnRequest_AndTakesAPhotoThatJoinsLive()
    {
        var sharp = await MeasuredAsync("BURST_1.jpg", 500);
        var soft = await MeasuredAsync("BURST_2.jpg", 100);
        var late = await MeasuredAsync("BURST_3.jpg", 50);
        var stack = await ImageRows.ScalarAsync<Guid>(Database, "INSERT INTO image_stacks (vehicle_id) VALUES (@v) RETURNING id", ("v", Vehicle));
        await JoinAsync(stack, sharp);
        await JoinAsync(stack, soft);

        await using var core = CoreServices.Build(Database);
        var stacks = _stacks = core.Services.GetRequiredService<StackService>();
        var page = Render<VehicleGallery>(p => p.Add(g => g.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(["BURST_1.jpg", "BURST_3.jpg", "IMG_1.jpg", "IMG_2.jpg"], Names(page)), Patience);
        var toggle = page.Find(".stack-toggle");
        Assert.Equal("+1 similar", toggle.TextContent.Trim());
        Assert.Equal("false", toggle.GetAttribute("aria-expanded"));

        toggle.Click();
        page.WaitForAssertion(() => Assert.Equal(["BURST_1.jpg", "BURST_2.jpg", "BURST_3.jpg", "IMG_1.jpg", "IMG_2.jpg"], Names(page)), Patience);
        Assert.Equal("Hide 1 similar", page.Find(".stack-toggle").TextContent.Trim());
        Assert.Single(page.FindAll(".stack-member"));

        // The third copy is analysed and joins the stack: the open stack shows it and counts it.
        await JoinAsync(stack, late);
        stacks.Announce(Vehicle);
        page.WaitForAssertion(() => Assert.Equal("Hide 2 similar", page.Find(".stack-toggle").TextContent.Trim()), Patience);
        Assert.Equal(2, page.FindAll(".stack-member").Count);

        page.Find(".stack-toggle").Click();
        page.WaitForAssertion(() => Assert.Equal(["BURST_1.jpg", "IMG_1.jpg", "IMG_2.jpg"], Names(page)), Patience);
        Assert.NotNull(page.Find("#keep-best"));
    }

    [Fact]
    public async Task Gallery_SuggestionIsSaidAsSuch_AndOneClickMakesItThePersons()
    {
        await ImageRows.ScalarAsync<int>(Database,
            "INSERT INTO image_suggestions (image_id, category, angle, confidence, neighbours) VALUES (@id, 'exterior', 'front', 0.8, 3); SELECT 1",
            ("id", Photos[0]));
        await using var core = CoreServices.Build(Database);
        _stacks = core.Services.GetRequiredService<StackService>();
        _suggestions = core.Services.GetRequiredService<SuggestionService>();

        var page = Render<VehicleGallery>(p => p.Add(g => g.VehicleId, Vehicle));
        page.WaitForAssertion(() => Assert.Equal(
            "Suggested: Exterior · Front, from 3 similar photos you sorted",
            string.Join(' ', page.Find(".suggestion-note").TextContent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))), Patience);

        page.Find(".suggestion-accept").Click();
        page.WaitForAssertion(() => Assert.Equal("Sorted as Exterior · Front", page.Find(".suggestion-note").TextContent.Trim()), Patience);
        Assert.Equal("exterior.front", await ImageRows.ScalarAsync<string>(Database,
            "SELECT category || '.' || angle FROM vehicle_image_angles WHERE image_id = @id AND source = 'user'", ("id", Photos[0])));
    }
}
