using Bunit;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Shared;

namespace VehicleImages.Tests.Components;

public sealed class StatusBadgeTests : MudTestContext
{
    [Theory]
    [InlineData("pending", "Processing")]
    [InlineData("processing", "Processing")]
    [InlineData("complete", "Analyzed")]
    [InlineData("failed", "Failed")]
    public void StatusBadge_EachStatus_ReadsWhatAPersonExpects(string status, string label)
    {
        var badge = Render<StatusBadge>(p => p.Add(b => b.Status, status));

        Assert.Equal(label, badge.Find(".status-badge").TextContent.Trim());
        Assert.Equal(status, badge.Find(".status-badge").GetAttribute("data-status"));
    }
}
