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

    /// <summary>
    /// The photo cards draw the badge as plain markup (StatusBadge.Chip) to keep a gallery circuit small; it
    /// must stay MudChip's markup, so the two look the same, and a MudBlazor upgrade that changes the chip shows here.
    /// </summary>
    [Theory]
    [InlineData("pending")]
    [InlineData("complete")]
    [InlineData("failed")]
    public void StatusBadge_MarkupChip_IsMudChipsMarkup(string status)
    {
        var component = Render<StatusBadge>(p => p.Add(b => b.Status, status));
        var markup = Render(StatusBadge.Chip(status));

        // MudChip gives each container an id of its own (for its JS), which a badge has no use for.
        markup.MarkupMatches(System.Text.RegularExpressions.Regex.Replace(component.Markup, @" id=""chip-container-[^""]*""", ""));
    }
}
