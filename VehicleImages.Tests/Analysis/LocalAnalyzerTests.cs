using NetVips;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Imaging;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Analysis;

/// <summary>The built-in analyzer's measurements on a real photo spoiled on purpose.</summary>
public sealed class LocalAnalyzerTests
{
    private static byte[] Medium(string file)
    {
        var path = TestData.Image(file);
        return ImageProcessor.Process(path, ImageFormat.Jpeg, 150_000_000).Variants.Single(v => v.Name == "medium").Bytes;
    }

    private static byte[] Spoil(byte[] jpeg, Func<Image, Image> change)
    {
        using var image = Image.NewFromBuffer(jpeg);
        using var changed = change(image);
        using var eight = changed.Cast(Enums.BandFormat.Uchar);
        return eight.JpegsaveBuffer(q: 90);
    }

    private static PixelMetrics Measure(byte[] jpeg) => PixelMetrics.Measure(jpeg, 1800);

    [Fact]
    public void Quality_Sharp_BeatsBlurred()
    {
        var sharp = Medium("exif-orientation-examples__Landscape_1.jpg");
        var blurred = Spoil(sharp, i => i.Gaussblur(4));
        var veryBlurred = Spoil(sharp, i => i.Gaussblur(12));

        var (s, b, v) = (Measure(sharp), Measure(blurred), Measure(veryBlurred));

        Assert.True(s.LaplacianVariance > b.LaplacianVariance && b.LaplacianVariance > v.LaplacianVariance);
        Assert.True(s.QualityScore > b.QualityScore, $"sharp {s.QualityScore} vs blurred {b.QualityScore}");
        Assert.True(b.QualityScore >= v.QualityScore);
    }

    [Fact]
    public void Quality_WellExposed_BeatsClippedAndDark()
    {
        var good = Medium("exif-orientation-examples__Landscape_1.jpg");
        var blown = Spoil(good, i => i.Linear([2.5], [60.0]));   // highlights clipped
        var dark = Spoil(good, i => i.Linear([0.15], [0.0]));     // underexposed, shadows crushed

        var (g, c, d) = (Measure(good), Measure(blown), Measure(dark));

        Assert.True(c.ClippedHighlights > g.ClippedHighlights + 0.2, $"clipped highlights {c.ClippedHighlights:0.00}");
        Assert.True(d.MeanLuminance < 50);
        Assert.True(g.QualityScore > c.QualityScore, $"good {g.QualityScore} vs clipped {c.QualityScore}");
        Assert.True(g.QualityScore > d.QualityScore, $"good {g.QualityScore} vs dark {d.QualityScore}");
        Assert.InRange(g.QualityScore, 1, 10);
        Assert.InRange(d.QualityScore, 1, 10);
    }

    [Fact]
    public void Quality_Flat_GreyFrame_IsPoor()
    {
        using var grey = Image.Black(1024, 683, bands: 3) + 128;
        var flat = grey.Cast(Enums.BandFormat.Uchar).JpegsaveBuffer();

        var m = Measure(flat);

        Assert.Equal(0, m.ContrastScore, 2);
        Assert.True(m.QualityScore <= 5, $"a flat grey frame scored {m.QualityScore}");
    }
}
