using VehicleImages.Web.Components.Pages.Account;

namespace VehicleImages.Tests.Core;

public sealed class ReturnUrlTests
{
    [Theory]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("vehicles/1", "/vehicles/1")]
    [InlineData("/vehicles/1?x=2", "/vehicles/1?x=2")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData("https://evil.example/", "/")]
    public void SafeReturnUrl_OnlyPathsInsideTheSite(string? returnUrl, string expected) =>
        Assert.Equal(expected, AccountLinks.SafeReturnUrl(returnUrl));
}
