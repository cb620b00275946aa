using System.Diagnostics;
using NetVips;
using VehicleImages.Core.Imaging;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Core;

public sealed class ImageProcessorTests
{
    private const long MaxPixels = 150_000_000;

    private static ImageFormat SniffFile(string path)
    {
        var head = new byte[FormatSniffer.HeaderBytes];
        using (var f = File.OpenRead(path))
            _ = f.Read(head);
        return FormatSniffer.Sniff(head) ?? throw new Xunit.Sdk.XunitException($"{path}: not sniffed as an image");
    }

    [Theory]
    [MemberData(nameof(TestData.ExpectedFileNames), MemberType = typeof(TestData))]
    public void Process_RealCameraFile_ReportsTheOrientedSizeAndMakesThreeVariants(string file)
    {
        var expected = TestData.ExpectedFor(file);
        var path = TestData.Image(file);

        var result = ImageProcessor.Process(path, SniffFile(path), MaxPixels);

        var (w, h) = (expected.GetProperty("oriented_width").GetInt32(), expected.GetProperty("oriented_height").GetInt32());
        Assert.Equal((w, h), (result.Width, result.Height));
        Assert.Equal(["large", "medium", "thumb"], result.Variants.Select(v => v.Name));
        foreach (var (variant, limit) in result.Variants.Zip([2048, 1024, 320]))
        {
            Assert.True(Math.Max(variant.Width, variant.Height) <= limit, $"{variant.Name} is {variant.Width}×{variant.Height}");
            // Variants keep the viewer's orientation: landscape stays landscape.
            Assert.Equal(w >= h, variant.Width >= variant.Height);
            using var decoded = NetVips.Image.NewFromBuffer(variant.Bytes);
            Assert.Equal((variant.Width, variant.Height), (decoded.Width, decoded.Height));
            // Re-encoded pixels only: no EXIF, no XMP, no ICC, no comments.
            Assert.DoesNotContain(decoded.GetFields(), f => f.StartsWith("exif") || f.StartsWith("xmp") || f.Contains("icc") || f.Contains("comment"));
        }

        // Never upscaled: a small photo's large variant is its own size.
        var large = result.Variants[0];
        Assert.Equal(Math.Min(Math.Max(w, h), 2048), Math.Max(large.Width, large.Height));
    }

    [Fact]
    public void Process_OrientationExamples_RotateTheVariantsSoTheyLookTheSame()
    {
        // All eight Landscape_N files show the same picture once orientation is applied.
        var reference = Thumb("exif-orientation-examples__Landscape_1.jpg");
        foreach (var n in Enumerable.Range(2, 7))
        {
            using var other = Thumb($"exif-orientation-examples__Landscape_{n}.jpg");
            var difference = (reference - other).Abs().Avg();
            Assert.True(difference < 12, $"Landscape_{n} differs from Landscape_1 by {difference:0.0} on average");
        }

        static NetVips.Image Thumb(string file)
        {
            var path = TestData.Image(file);
            var bytes = ImageProcessor.Process(path, SniffFile(path), MaxPixels).Variants.Single(v => v.Name == "thumb").Bytes;
            return NetVips.Image.NewFromBuffer(bytes);
        }
    }

    [Theory]
    [InlineData("truncated_libvips.jpg", "truncated")]
    [InlineData("its_bad_header.jpg", "not an image we can read")]
    // libvips refuses this frame (65535×10751 inside a 32×32 screen) while reading the header; no pixel is decoded.
    [InlineData("bomb_pillow.gif", "not an image we can read")]
    [InlineData("broken_chunk.png", "not an image we can read")]
    [InlineData("heic_clap_divzero.heic", "HEIC file could not be decoded")]
    public void Process_BrokenFile_IsRejectedWithAReason(string file, string reason)
    {
        var path = TestData.BadFile(file);
        var head = File.ReadAllBytes(path).AsSpan(0, Math.Min(64, (int)new FileInfo(path).Length)).ToArray();
        var format = FormatSniffer.Sniff(head);

        if (format is null)
        {
            // Not even sniffed as an image: ingest answers "not an image we can read" before any loader runs.
            Assert.Equal("not an image we can read", reason);
            return;
        }

        var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.Process(path, format.Value, MaxPixels));
        Assert.Contains(reason, error.Message);
        // The owner reads this: no server path, no decoder source location.
        Assert.DoesNotContain(Path.GetDirectoryName(path)!, error.Message);
        Assert.DoesNotContain("@ error/", error.Message);
    }

    [Theory]
    [InlineData("bad_exif_hopper.jpg")]
    [InlineData("polyglot_jpeg_mp3.jpg")]
    public void Process_OddButValidFile_IsAccepted(string file)
    {
        var path = TestData.BadFile(file);

        var result = ImageProcessor.Process(path, SniffFile(path), MaxPixels);

        Assert.Equal(3, result.Variants.Count);
        // Nothing appended to the original survives: the variant is only the re-encoded JPEG.
        var large = result.Variants[0].Bytes;
        Assert.Equal(0xD9, large[^1]);
        Assert.Equal(-1, large.AsSpan().IndexOf("ID3"u8));
    }

    [Fact]
    public void Process_HeaderOnlyBomb_IsRejectedBeforeDecoding()
    {
        // A valid JPEG header declaring 65500×65500 (12.8 GB of pixels) followed by almost nothing.
        var path = Path.Combine(Path.GetTempPath(), $"bomb-{Guid.NewGuid():N}.jpg");
        using (var tiny = NetVips.Image.Black(8, 8))
            File.WriteAllBytes(path, PatchJpegSize(tiny.JpegsaveBuffer(), 65500, 65500));
        try
        {
            var clock = Stopwatch.StartNew();
            var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.Process(path, ImageFormat.Jpeg, MaxPixels));
            clock.Stop();

            Assert.Equal("image is 65500×65500, larger than the 150 megapixel limit.", error.Message);
            // Not a timing assertion of the pipeline's speed: decoding 12.8 GB could not finish at all.
            TestContext.Current.TestOutputHelper?.WriteLine($"rejected in {clock.ElapsedMilliseconds} ms");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Rewrites the size in a JPEG's SOF0 marker.</summary>
    internal static byte[] PatchJpegSize(byte[] jpeg, int width, int height)
    {
        for (var i = 2; i < jpeg.Length - 9; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC2)
            {
                jpeg[i + 5] = (byte)(height >> 8);
                jpeg[i + 6] = (byte)height;
                jpeg[i + 7] = (byte)(width >> 8);
                jpeg[i + 8] = (byte)width;
                return jpeg;
            }
        }

        throw new InvalidOperationException("no SOF marker");
    }

    [Theory]
    [InlineData(new byte[] { 0x3C, 0x73, 0x76, 0x67, 0x20, 0x78 }, null)] // "<svg x": never handed to libvips
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46, 0x2D, 0x31 }, null)] // "%PDF-1"
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, ImageFormat.Jpeg)]
    [InlineData(new byte[] { 0x49, 0x49, 0x2A, 0x00 }, ImageFormat.Tiff)]
    public void Sniff_FirstBytes_DecideTheFormat(byte[] head, ImageFormat? expected) =>
        Assert.Equal(expected, FormatSniffer.Sniff(head));
}
