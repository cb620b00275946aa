using Bunit;
using VehicleImages.Core.Vehicles;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Shared;

namespace VehicleImages.Tests.Components;

public sealed class VehicleCardTests : MudTestContext
{
    private static VehicleSummary Summary(string name = "Mustang", Guid? primary = null, StatusCounts? counts = null) =>
        new(Guid.NewGuid(), name, "Ford", "Mustang", 1967, DateTimeOffset.UnixEpoch, primary, counts ?? new StatusCounts(0, 0, 0, 0));

    [Fact]
    public void VehicleCard_WithoutPhotos_ShowsPlaceholderAndZeroCounts()
    {
        var card = Render<VehicleCard>(p => p.Add(c => c.Vehicle, Summary()));

        Assert.Contains("vehicle-placeholder.svg", card.Markup);
        Assert.Contains("0 analyzed", card.Find(".vehicle-card").TextContent);
        Assert.Contains("1967 Ford Mustang", card.Find(".vehicle-card").TextContent);
    }

    [Fact]
    public void VehicleCard_WithPhotos_ShowsPrimaryThumbAndCountsPerStatus()
    {
        var primary = Guid.NewGuid();
        var card = Render<VehicleCard>(p => p.Add(c => c.Vehicle, Summary(primary: primary, counts: new StatusCounts(2, 1, 5, 3))));

        var text = card.Find(".vehicle-card").TextContent;
        Assert.Contains($"api/images/{primary}/thumb", card.Markup);
        Assert.Contains("3 processing", text); // pending and running are both "processing" to a person
        Assert.Contains("5 analyzed", text);
        Assert.Contains("3 failed", text);
        Assert.Contains("Open gallery (11)", text);
    }

    [Fact]
    public void VehicleCard_HostileName_IsShownAsText()
    {
        var card = Render<VehicleCard>(p => p.Add(c => c.Vehicle, Summary("<img src=x onerror=alert(1)>")));

        Assert.Empty(card.FindAll(".vehicle-name img"));
        Assert.Equal("<img src=x onerror=alert(1)>", card.Find(".vehicle-name").TextContent);
    }
}
