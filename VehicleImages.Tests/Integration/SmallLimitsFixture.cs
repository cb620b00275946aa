using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

public sealed class SmallLimitsFixture : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Upload:MaxFileBytes"] = "100000",
        ["Upload:MaxRequestBytes"] = "3000000",
        ["Processing:Workers"] = "0",
    };
}
