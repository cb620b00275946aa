using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>An instance with workers (the default Local analyzer), for pages that show analysis.</summary>
public sealed class WorkingAppFixture : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();
}
