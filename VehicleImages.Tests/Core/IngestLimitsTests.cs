using NetVips;
using VehicleImages.Core.Imaging;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Core;

/// <summary>Decode memory from the header, truncated HEIC, and the policy for JPEGs missing their last rows (ADR 012).</summary>
public sealed class IngestLimitsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vi-ingest-limits-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadHeader_InterlacedPng16_EstimatesTheWholeImageAtSixBytesAPixel()
    {
        var path = Path.Combine(_dir, "interlaced.png");
        GeneratedImages.WriteInterlacedPng16(path, 4000, 3000);

        var header = ImageProcessor.ReadHeader(path, ImageFormat.Png);

        Assert.True(header.Interlaced);
        Assert.Equal(4000L * 3000 * 6, header.DecodeBytes);
        Assert.True(header.IsLarge);
        var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.CheckLimits(header, new DecodeLimits(150_000_000, 64L * 1024 * 1024)));
        Assert.Equal("image is a 4000×3000 interlaced 16-bit PNG: decoding it would need about 69 MiB of memory, more than the 64 MiB allowed. "
            + "Save it at a smaller size, or as a baseline (non-progressive, non-interlaced) JPEG or PNG, and upload it again.", error.Message);
        // Under the limit it decodes as usual.
        Assert.Equal(3, ImageProcessor.Process(path, ImageFormat.Png, new DecodeLimits(150_000_000, 128L * 1024 * 1024)).Variants.Count);
    }

    [Fact]
    public void ReadHeader_ProgressiveAgainstBaselineJpeg_OnlyTheProgressiveOneHoldsItsCoefficients()
    {
        var progressive = Path.Combine(_dir, "progressive.jpg");
        GeneratedImages.WriteProgressiveJpeg(progressive, 6000, 4000);
        var baseline = Path.Combine(_dir, "baseline.jpg");
        using (var image = Image.NewFromFile(progressive))
            image.Jpegsave(baseline);

        var p = ImageProcessor.ReadHeader(progressive, ImageFormat.Jpeg);
        var b = ImageProcessor.ReadHeader(baseline, ImageFormat.Jpeg);

        // 4:2:0: luma plus two quarter-size chroma planes, 2 bytes a coefficient.
        Assert.Equal(6000L * 4000 * 3, p.DecodeBytes);
        Assert.True(p.IsLarge);
        Assert.False(b.IsLarge);
        Assert.True(b.DecodeBytes < 1024 * 1024, $"baseline estimate {b.DecodeBytes}");
    }

    [Fact]
    public void Process_LargeWebP_IsDecodedScaledAndEstimatedAtTheScaledSize()
    {
        var path = Path.Combine(_dir, "large.webp");
        using (var black = Image.Black(6000, 4000, bands: 3))
        using (var grey = black.Linear(new double[] { 1 }, new double[] { 96 }).Cast(Enums.BandFormat.Uchar))
            grey.Webpsave(path, q: 50);

        var header = ImageProcessor.ReadHeader(path, ImageFormat.WebP);
        var result = ImageProcessor.Process(path, ImageFormat.WebP, header);

        Assert.Equal(2, header.Shrink);
        Assert.Equal((long)(3000 * 2000 * DecodeMemory.WebPBytesPerPixel), header.DecodeBytes);
        Assert.Equal((6000, 4000), (result.Width, result.Height));
        Assert.Equal((2048, 1365), (result.Variants[0].Width, result.Variants[0].Height));
    }

    [Theory]
    [InlineData(4000, 4000)] // one strip: libtiff decodes the whole image at once
    [InlineData(16, 4000)]
    public void ReadHeader_StripTiff_EstimatesOneStrip(int rowsPerStrip, int height)
    {
        var path = Path.Combine(_dir, $"strips-{rowsPerStrip}.tif");
        GeneratedImages.WriteStripTiff(path, 6000, height, rowsPerStrip);

        var header = ImageProcessor.ReadHeader(path, ImageFormat.Tiff);

        Assert.Equal(6000L * rowsPerStrip * 3, header.DecodeBytes);
        Assert.Equal(rowsPerStrip == height, header.IsLarge);
        Assert.Equal(3, ImageProcessor.Process(path, ImageFormat.Tiff, header).Variants.Count);
    }

    [Fact]
    public void Process_TruncatedHeic_IsRejectedAsTruncated()
    {
        var whole = File.ReadAllBytes(TestData.Image("exif-samples__iphone_13_pro_max.HEIC"));
        foreach (var keep in new[] { 0.5, 0.99 })
        {
            var path = Write($"cut-{keep}.heic", whole[..(int)(whole.Length * keep)]);

            var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.Process(path, ImageFormat.Heic, DecodeLimits.Default));

            Assert.StartsWith("truncated file: the image data ends early", error.Message);
        }
    }

    [Theory]
    [InlineData(24)]
    [InlineData(104)] // 4.8 %
    public void Process_CameraJpegMissingAFewPercentOfItsLastRows_IsKeptWithAWarning(int missing)
    {
        var path = Write("cut.jpg", GeneratedImages.CameraJpegMissingLastRows(missing));

        Assert.Equal(missing, ImageProcessor.MissingJpegRows(path, 2160));
        var result = ImageProcessor.Process(path, ImageFormat.Jpeg, DecodeLimits.Default);

        Assert.Equal((3840, 2160), (result.Width, result.Height));
        Assert.Equal(3, result.Variants.Count);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains($"the last {missing} of 2160 rows", warning);
    }

    [Fact]
    public void Process_CameraJpegMissingMoreThanFivePercent_IsRejectedAsTruncated()
    {
        var path = Write("cut.jpg", GeneratedImages.CameraJpegMissingLastRows(112)); // 5.2 %

        var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.Process(path, ImageFormat.Jpeg, DecodeLimits.Default));

        Assert.Equal("truncated file: the image data ends early and about 6% of the picture (the last 112 of 2160 rows) is missing "
            + "(was the upload or the copy interrupted?).", error.Message);
    }

    [Fact]
    public void Process_CameraJpegMissingHalfItsRows_IsRejectedAsTruncated()
    {
        // 135 lost restart intervals: more decoder warnings than libvips reads past, so the share is not measured.
        var path = Write("cut.jpg", GeneratedImages.CameraJpegMissingLastRows(1080));

        var error = Assert.Throws<ImageRejectedException>(() => ImageProcessor.Process(path, ImageFormat.Jpeg, DecodeLimits.Default));

        Assert.StartsWith("truncated file: the image data ends early", error.Message);
        Assert.Null(ImageProcessor.MissingJpegRows(path, 2160));
    }

    [Theory]
    [InlineData(0.995)]
    [InlineData(0.98)]
    [InlineData(0.9)]
    public void MissingJpegRows_CutWithoutRestartMarkers_AgreesWithAComparisonAgainstTheWholePhoto(double keep)
    {
        // No restart markers (as many cameras write): the cut falls mid-row; the truth is the first row that
        // differs from the same photo decoded whole.
        var whole = GeneratedImages.CameraJpeg(restartInterval: 0);
        var path = Write("cut.jpg", whole[..(int)(whole.Length * keep)]);
        using var complete = Image.NewFromBuffer(whole);
        using var cut = Image.Jpegload(path, access: Enums.Access.Random, failOn: Enums.FailOn.None);
        var (a, b) = (complete.WriteToMemory<byte>(), cut.WriteToMemory<byte>());
        var stride = 3840 * 3;
        var intact = 0;
        while (intact < 2160 && a.AsSpan(intact * stride, stride).SequenceEqual(b.AsSpan(intact * stride, stride)))
            intact++;
        var truth = 2160 - intact;

        var measured = ImageProcessor.MissingJpegRows(path, 2160);

        TestContext.Current.TestOutputHelper?.WriteLine($"kept {keep:P1} of the bytes: {truth} rows differ from the whole photo, {measured} measured as missing");
        Assert.NotNull(measured);
        // Whole flat block rows only: the row the cut falls in (8 rows at 4:4:4) still has real blocks on its left.
        Assert.InRange(measured.Value, truth - 8, truth);
    }

    [Fact]
    public void Process_CompleteCameraJpeg_HasNoWarning()
    {
        var path = Write("whole.jpg", GeneratedImages.CameraJpegMissingLastRows(0));

        Assert.Empty(ImageProcessor.Process(path, ImageFormat.Jpeg, DecodeLimits.Default).Warnings);
    }

    [Fact]
    public void ReadExifBlock_AvifFromACameraJpeg_GivesTheSameFieldsAsTheJpeg()
    {
        var jpeg = TestData.Image("exif-samples__DSCN0010.jpg");
        var avif = Path.Combine(_dir, "DSCN0010.avif");
        using (var image = Image.NewFromFile(jpeg))
            image.Heifsave(avif, compression: Enums.ForeignHeifCompression.Av1, q: 40, effort: 0, keep: Enums.ForeignKeep.Exif);

        var result = ImageProcessor.Process(avif, ImageFormat.Avif, DecodeLimits.Default);

        var expected = ExifReader.Read(jpeg);
        Assert.NotNull(expected.GpsLatitude);
        Assert.Equal((expected.Make, expected.Model, expected.DateTimeOriginal, expected.GpsLatitude, expected.GpsLongitude),
            (result.Exif.Make, result.Exif.Model, result.Exif.DateTimeOriginal, result.Exif.GpsLatitude, result.Exif.GpsLongitude));
    }
}
