using NetVips;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>
/// The labelled near-duplicate set: real photos from ../shared/testdata (the 32 vehicles, the traffic-camera views of
/// different cars among them, and other scenes from images/), each as its medium variant would be stored, and bursts made
/// from each by a small crop, a shift, brighter and darker exposure, heavy recompression, blur and a slight rotation.
/// </summary>
public static class Bursts
{
    public const int MediumEdge = 1024;

    public static string VehiclesFolder => Path.Combine(RepoPaths.TestData, "vehicles");

    /// <summary>Other scenes (not vehicles), one per distinct picture (the orientation examples are one picture each).</summary>
    public static readonly string[] OtherScenes =
    [
        "exif-orientation-examples__Landscape_1.jpg", "exif-orientation-examples__Portrait_1.jpg", "exif-samples__Canon_40D.jpg",
        "exif-samples__DSCN0010.jpg", "exif-samples__Kodak_CX7530.jpg", "exif-samples__canon_hdr_YES.jpg", "exif-samples__no_exif.jpg",
    ];

    public static IReadOnlyList<string> Photos() =>
    [
        .. Directory.GetFiles(VehiclesFolder, "*.jpg").Order(StringComparer.Ordinal),
        .. OtherScenes.Select(TestData.Image),
    ];

    public static readonly string[] Kinds = ["crop", "shift", "brighter", "darker", "recompressed", "blurred", "rotated"];

    /// <summary>The photo as the medium variant stores it: oriented, at most 1024 px on the long edge, JPEG 82.</summary>
    public static byte[] Medium(string path)
    {
        using var image = Image.Thumbnail(path, MediumEdge, height: MediumEdge, size: Enums.Size.Down);
        return image.JpegsaveBuffer(q: 82);
    }

    /// <summary>One burst copy of a medium variant, stored again as a medium variant would be.</summary>
    public static byte[] Make(byte[] medium, string kind)
    {
        using var image = Image.NewFromBuffer(medium);
        int w = image.Width, h = image.Height;
        Image made = kind switch
        {
            "crop" => image.Crop(w * 4 / 100, h * 4 / 100, w * 92 / 100, h * 92 / 100),
            "shift" => image.Crop(w * 8 / 100, h * 6 / 100, w * 92 / 100, h * 92 / 100),
            "brighter" => image.Linear([1.3], [10.0]).Cast(Enums.BandFormat.Uchar),
            "darker" => image.Linear([0.7], [0.0]).Cast(Enums.BandFormat.Uchar),
            "recompressed" => Image.NewFromBuffer(image.JpegsaveBuffer(q: 30)),
            "blurred" => image.Gaussblur(2.5),
            "rotated" => Rotated(image, 3),
            _ => throw new ArgumentException(kind),
        };
        using (made)
            return made.JpegsaveBuffer(q: kind == "recompressed" ? 30 : 82);
    }

    private static Image Rotated(Image image, double degrees)
    {
        using var turned = image.Similarity(angle: degrees);
        // Keep the middle, so no corner of the background fill shows.
        var w = (int)(image.Width * 0.88);
        var h = (int)(image.Height * 0.88);
        return turned.Crop((turned.Width - w) / 2, (turned.Height - h) / 2, w, h);
    }
}
