using System.Globalization;
using VehicleImages.Core.Privacy;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Privacy;

/// <summary>One photo of ../shared/testdata/vehicles with its plate's box (pixels of the stored image) and text.</summary>
public sealed record PlatePhoto(string Path, string Name, int Left, int Top, int Width, int Height, string Plate, bool European)
{
    /// <summary>The plate's box in fractions of a <paramref name="width"/> × <paramref name="height"/> image.</summary>
    public BoxF Box(int width, int height) => new(PrivacyBoxKind.Plate, (double)Left / width, (double)Top / height, (double)Width / width, (double)Height / height);

    public static IReadOnlyList<PlatePhoto> All()
    {
        var folder = System.IO.Path.Combine(RepoPaths.TestData, "vehicles");
        if (!Directory.Exists(folder))
            throw new InvalidOperationException($"Test data folder {folder} is missing: the privacy tests read real plates from ../shared/testdata/vehicles.");
        return [.. Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal).Select(f =>
        {
            var p = File.ReadAllText(f).Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
            int N(int i) => int.Parse(p[i], CultureInfo.InvariantCulture);
            return new PlatePhoto(System.IO.Path.Combine(folder, p[0]), p[0], N(1), N(2), N(3), N(4), p[5], p[0].StartsWith("test_", StringComparison.Ordinal));
        })];
    }
}
