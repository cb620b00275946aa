using NetVips;

namespace VehicleImages.Benchmarks.Support;

/// <summary>Test photos made from a real one, so every upload is a distinct real JPEG.</summary>
internal static class Photos
{
    /// <summary>24 distinct 12-megapixel JPEGs from a real photo, each with its own grain.</summary>
    public static List<string> MakeJpegs(string folder, int count, int width, int height)
    {
        Directory.CreateDirectory(folder);
        var source = Path.Combine(Rig.Root, "..", "shared", "testdata", "images", "exif-orientation-examples__Landscape_1.jpg");
        using var photo = Image.NewFromFile(source);
        using var scaled = photo.Resize((double)width / photo.Width, vscale: (double)height / photo.Height);
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var noise = Image.Gaussnoise(width, height, sigma: 6, mean: 0, seed: i + 1);
            using var grain = scaled + noise.Bandjoin(noise, noise);
            using var eight = grain.Cast(Enums.BandFormat.Uchar);
            var path = Path.Combine(folder, $"photo_{i:00}.jpg");
            eight.Jpegsave(path, q: 90);
            files.Add(path);
        }

        return files;
    }
}
