using System.Globalization;
using System.Text.Json.Nodes;
using VehicleImages.Core.Imaging;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Core;

public sealed class ExifReaderTests
{
    // Tag numbers from the EXIF 2.32 specification, written out so the tests do not lean on the reader's library.
    private const ushort TagMake = 0x010F, TagModel = 0x0110, TagOrientation = 0x0112, TagDateTime = 0x0132;
    private const ushort TagExposureTime = 0x829A, TagFNumber = 0x829D, TagIso = 0x8827;
    private const ushort TagDateTimeOriginal = 0x9003, TagDateTimeDigitized = 0x9004;
    private const ushort TagOffsetTime = 0x9010, TagOffsetTimeOriginal = 0x9011, TagOffsetTimeDigitized = 0x9012;
    private const ushort TagFocalLength = 0x920A, TagLensModel = 0xA434;
    private const ushort TagGpsLatitude = 0x0002, TagGpsAltitudeRef = 0x0005, TagGpsAltitude = 0x0006;

    // Stands in for the file list when expected.json cannot be read, so the theory fails instead of vanishing.
    private const string MissingTestData = "(../shared/testdata missing)";

    public static TheoryData<string> ExpectedFiles()
    {
        var data = new TheoryData<string>();
        var expectedJson = Path.Combine(RepoPaths.TestData, "images", "expected.json");
        if (!File.Exists(expectedJson))
        {
            data.Add(MissingTestData);
            return data;
        }
        foreach (var entry in JsonNode.Parse(File.ReadAllText(expectedJson))!["files"]!.AsArray())
            data.Add(entry!["file"]!.GetValue<string>());
        return data;
    }

    [Theory]
    [MemberData(nameof(ExpectedFiles))]
    public void Read_RealCameraFile_MatchesExiftool(string file)
    {
        var expected = ExpectedEntry(file);

        var info = ExifReader.Read(TestFile("images", file));

        // exiftool's 0 is an invalid orientation, which the reader reports as absent.
        var orientation = expected["orientation"]?.GetValue<int>();
        Assert.Equal(orientation is 0 ? null : orientation, info.Orientation);

        var dateTimeOriginal = expected["date_time_original"]?.GetValue<string>();
        var offsetTimeOriginal = expected["offset_time_original"]?.GetValue<string>();
        Assert.Equal(dateTimeOriginal, info.DateTimeOriginal);
        Assert.Equal(offsetTimeOriginal, info.OffsetTimeOriginal);
        if (dateTimeOriginal is not null)
        {
            var takenAt = DateTimeOffset.ParseExact($"{dateTimeOriginal} {offsetTimeOriginal ?? "+00:00"}",
                "yyyy:MM:dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
            Assert.Equal(takenAt, info.TakenAt);
            Assert.Equal(takenAt.Offset, info.TakenAt!.Value.Offset);
        }

        AssertClose(expected["gps_lat"]?.GetValue<double>(), info.GpsLatitude);
        AssertClose(expected["gps_lon"]?.GetValue<double>(), info.GpsLongitude);
        Assert.Equal(expected["make"]?.GetValue<string>(), info.Make);
        Assert.Equal(expected["model"]?.GetValue<string>(), info.Model);
    }

    [Theory]
    [InlineData("truncated_libvips.jpg")]
    [InlineData("its_bad_header.jpg")]
    [InlineData("bomb_pillow.gif")]
    [InlineData("broken_chunk.png")]
    [InlineData("heic_clap_divzero.heic")]
    [InlineData("bad_exif_hopper.jpg")]
    [InlineData("polyglot_jpeg_mp3.jpg")]
    public void Read_BrokenFile_DoesNotThrow(string file)
    {
        var info = ExifReader.Read(TestFile("bad", file));

        Assert.NotNull(info);
    }

    [Fact]
    public void Read_MalformedExifDirectory_FieldsAbsent()
    {
        var info = ExifReader.Read(TestFile("bad", "bad_exif_hopper.jpg"));

        Assert.Null(info.Make);
        Assert.Null(info.TakenAt);
        Assert.Null(info.GpsLatitude);
        Assert.Null(info.GpsLongitude);
    }

    [Fact]
    public async Task Read_GeneratedJpegWithoutTags_Empty()
    {
        // Proves the builder drops the pixel source's own EXIF, which the other generated cases rely on.
        var info = await ReadGenerated(new ExifJpegBuilder());

        Assert.Equal(ExifInfo.Empty, info);
    }

    [Fact]
    public async Task Read_LatitudeOutOfRange_LocationDropped()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .GpsCoordinate(latitude: true, "N", 123, 30, 0)
            .GpsCoordinate(latitude: false, "E", 10, 0, 0));

        Assert.Null(info.GpsLatitude);
        Assert.Null(info.GpsLongitude);
    }

    [Fact]
    public async Task Read_SouthAndWest_NegativeDegrees()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .GpsCoordinate(latitude: true, "S", 33, 51, 54.5)
            .GpsCoordinate(latitude: false, "W", 151, 12, 36)
            .Byte(ExifIfd.Gps, TagGpsAltitudeRef, 1)
            .Rational(ExifIfd.Gps, TagGpsAltitude, (25, 2)));

        Assert.Equal(-(33 + 51 / 60d + 54.5 / 3600), info.GpsLatitude!.Value, 1e-9);
        Assert.Equal(-(151 + 12 / 60d + 36 / 3600d), info.GpsLongitude!.Value, 1e-9);
        Assert.Equal(-12.5, info.GpsAltitude);
    }

    [Fact]
    public async Task Read_GpsRefMissing_LocationDropped()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Rational(ExifIfd.Gps, TagGpsLatitude, (45, 1), (0, 1), (0, 1))
            .GpsCoordinate(latitude: false, "E", 10, 0, 0));

        Assert.Null(info.GpsLatitude);
        Assert.Null(info.GpsLongitude);
    }

    [Fact]
    public async Task Read_ZeroZeroLocation_Dropped()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .GpsCoordinate(latitude: true, "N", 0, 0, 0)
            .GpsCoordinate(latitude: false, "E", 0, 0, 0)
            .Rational(ExifIfd.Gps, TagGpsAltitude, (0, 1)));

        Assert.Null(info.GpsLatitude);
        Assert.Null(info.GpsLongitude);
        Assert.Null(info.GpsAltitude);
    }

    [Theory]
    [InlineData("2021:13:01 10:00:00")]
    [InlineData("2021:02:30 10:00:00")]
    [InlineData("2021:01:32 10:00:00")]
    [InlineData("2021:01:01 25:00:00")]
    [InlineData("0000:00:00 00:00:00")]
    [InlineData("    :  :     :  :  ")]
    [InlineData("")]
    [InlineData("2021-01-01T10:00:00")]
    public async Task Read_ImpossibleDateTimeOriginal_Dropped(string value)
    {
        var info = await ReadGenerated(new ExifJpegBuilder().Ascii(ExifIfd.Exif, TagDateTimeOriginal, value));

        Assert.Null(info.DateTimeOriginal);
        Assert.Null(info.TakenAt);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(255)]
    [InlineData(65535)]
    public async Task Read_OrientationOutsideOneToEight_Null(ushort orientation)
    {
        var info = await ReadGenerated(new ExifJpegBuilder().Short(ExifIfd.Ifd0, TagOrientation, orientation));

        Assert.Null(info.Orientation);
    }

    [Fact]
    public async Task Read_OffsetTimeOriginal_GivesUtcInstant()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Ascii(ExifIfd.Exif, TagDateTimeOriginal, "2023:06:15 12:00:00")
            .Ascii(ExifIfd.Exif, TagOffsetTimeOriginal, "+05:30"));

        Assert.Equal(new DateTimeOffset(2023, 6, 15, 6, 30, 0, TimeSpan.Zero), info.TakenAt);
        Assert.Equal(new TimeSpan(5, 30, 0), info.TakenAt!.Value.Offset);
        Assert.Equal("2023:06:15 12:00:00", info.DateTimeOriginal);
        Assert.Equal("+05:30", info.OffsetTimeOriginal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("+25:00")]
    [InlineData("   :  ")]
    [InlineData("05:30")]
    public async Task Read_NoValidOffset_WallClockTakenAsUtc(string? offset)
    {
        var builder = new ExifJpegBuilder().Ascii(ExifIfd.Exif, TagDateTimeOriginal, "2023:06:15 12:00:00");
        if (offset is not null)
            builder.Ascii(ExifIfd.Exif, TagOffsetTimeOriginal, offset);

        var info = await ReadGenerated(builder);

        Assert.Equal(new DateTimeOffset(2023, 6, 15, 12, 0, 0, TimeSpan.Zero), info.TakenAt);
        Assert.Equal(TimeSpan.Zero, info.TakenAt!.Value.Offset);
        Assert.Null(info.OffsetTimeOriginal);
    }

    [Fact]
    public async Task Read_DateTimeOriginalAbsent_FallsBackToDateTimeDigitized()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Ascii(ExifIfd.Exif, TagDateTimeDigitized, "2020:01:02 03:04:05")
            .Ascii(ExifIfd.Exif, TagOffsetTimeDigitized, "-03:00")
            .Ascii(ExifIfd.Ifd0, TagDateTime, "2024:05:05 05:05:05"));

        Assert.Equal(new DateTimeOffset(2020, 1, 2, 6, 4, 5, TimeSpan.Zero), info.TakenAt);
        Assert.Null(info.DateTimeOriginal);
    }

    [Fact]
    public async Task Read_DateTimeOriginalImpossible_FallsBackToDateTimeDigitized()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Ascii(ExifIfd.Exif, TagDateTimeOriginal, "2020:13:02 03:04:05")
            .Ascii(ExifIfd.Exif, TagDateTimeDigitized, "2020:01:02 03:04:05"));

        Assert.Equal(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero), info.TakenAt);
        Assert.Null(info.DateTimeOriginal);
    }

    [Fact]
    public async Task Read_OnlyIfd0DateTime_FallsBackToIt()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Ascii(ExifIfd.Ifd0, TagDateTime, "2019:07:08 22:30:00")
            .Ascii(ExifIfd.Exif, TagOffsetTime, "+02:00"));

        Assert.Equal(new DateTimeOffset(2019, 7, 8, 20, 30, 0, TimeSpan.Zero), info.TakenAt);
        Assert.Null(info.DateTimeOriginal);
    }

    [Fact]
    public async Task Read_CameraStrings_TrimmedBlankDroppedLongCut()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Ascii(ExifIfd.Ifd0, TagMake, "  Canon  ")
            .Ascii(ExifIfd.Ifd0, TagModel, "   ")
            .Ascii(ExifIfd.Exif, TagLensModel, new string('x', 300)));

        Assert.Equal("Canon", info.Make);
        Assert.Null(info.Model);
        Assert.Equal(new string('x', 200), info.LensModel);
    }

    [Fact]
    public async Task Read_ExposureValues_Read()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Rational(ExifIfd.Exif, TagExposureTime, (1, 250))
            .Rational(ExifIfd.Exif, TagFNumber, (28, 10))
            .Short(ExifIfd.Exif, TagIso, 400)
            .Rational(ExifIfd.Exif, TagFocalLength, (50, 1)));

        Assert.Equal(0.004, info.ExposureTimeSeconds!.Value, 1e-12);
        Assert.Equal(2.8, info.FNumber!.Value, 1e-12);
        Assert.Equal(400, info.Iso);
        Assert.Equal(50, info.FocalLengthMm);
    }

    [Fact]
    public async Task Read_AbsurdExposureValues_Dropped()
    {
        var info = await ReadGenerated(new ExifJpegBuilder()
            .Rational(ExifIfd.Exif, TagExposureTime, (7200, 1))
            .Rational(ExifIfd.Exif, TagFNumber, (0, 1))
            .Short(ExifIfd.Exif, TagIso, 0)
            .Rational(ExifIfd.Exif, TagFocalLength, (1, 0)));

        Assert.Null(info.ExposureTimeSeconds);
        Assert.Null(info.FNumber);
        Assert.Null(info.Iso);
        Assert.Null(info.FocalLengthMm);
    }

    [Fact]
    public async Task Read_NonSeekableStream_SameAsFromFile()
    {
        // Uploads arrive as forward-only streams; HEIF needs seeking, so this is the demanding case.
        var path = TestFile("images", "exif-samples__iphone_13_pro_max.HEIC");
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        using var stream = new ForwardOnlyStream(bytes);

        var info = ExifReader.Read(stream);

        Assert.Equal(ExifReader.Read(path), info);
        Assert.Equal("Apple", info.Make);
    }

    [Fact]
    public void Read_SeekableStream_PositionRestored()
    {
        using var stream = File.OpenRead(TestFile("images", "exif-samples__DSCN0010.jpg"));

        ExifReader.Read(stream);

        Assert.Equal(0, stream.Position);
    }

    [Fact]
    public void ToJson_AllFieldsSet_CamelCaseNames()
    {
        var info = new ExifInfo
        {
            TakenAt = new DateTimeOffset(2022, 2, 16, 12, 55, 41, TimeSpan.FromHours(1)),
            DateTimeOriginal = "2022:02:16 12:55:41",
            OffsetTimeOriginal = "+01:00",
            GpsLatitude = 40.5,
            GpsLongitude = -4.25,
            GpsAltitude = 1942.4,
            Make = "Apple",
            Model = "iPhone 13 Pro Max",
            LensModel = "back camera",
            Orientation = 6,
            ExposureTimeSeconds = 0.0125,
            FNumber = 1.5,
            Iso = 250,
            FocalLengthMm = 5.7,
        };

        var json = info.ToJson();

        string[] names =
        [
            "takenAt", "dateTimeOriginal", "offsetTimeOriginal", "gpsLatitude", "gpsLongitude", "gpsAltitude", "make",
            "model", "lensModel", "orientation", "exposureTime", "fNumber", "iso", "focalLength",
        ];
        Assert.Equal(names.Order(StringComparer.Ordinal), json.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("2022-02-16T12:55:41+01:00", json["takenAt"]!.GetValue<string>());
        Assert.Equal(-4.25, json["gpsLongitude"]!.GetValue<double>());
        Assert.Equal(6, json["orientation"]!.GetValue<int>());
        Assert.Equal(0.0125, json["exposureTime"]!.GetValue<double>());
    }

    [Fact]
    public void ToJson_NullFields_Omitted()
    {
        var json = new ExifInfo { Make = "NIKON", Orientation = 1 }.ToJson();

        Assert.Equal("""{"make":"NIKON","orientation":1}""", json.ToJsonString());
        Assert.Empty(ExifInfo.Empty.ToJson());
    }

    private static string TestFile(string folder, string file)
    {
        var root = RepoPaths.TestData;
        Assert.True(System.IO.Directory.Exists(root),
            $"../shared/testdata is missing: the real camera files are expected at {root}, beside the repository.");
        var path = Path.Combine(root, folder, file);
        Assert.True(File.Exists(path), $"{folder}/{file} is missing from ../shared/testdata ({root}).");
        return path;
    }

    private static JsonNode ExpectedEntry(string file)
    {
        var expectedJson = TestFile("images", "expected.json");
        var entry = JsonNode.Parse(File.ReadAllText(expectedJson))!["files"]!.AsArray()
            .SingleOrDefault(e => e!["file"]!.GetValue<string>() == file);
        Assert.True(entry is not null, $"{file} is not listed in ../shared/testdata/images/expected.json.");
        return entry;
    }

    private static void AssertClose(double? expected, double? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(expected.Value, actual.Value, 1e-4);
    }

    private static async Task<ExifInfo> ReadGenerated(ExifJpegBuilder builder)
    {
        var pixels = await File.ReadAllBytesAsync(TestFile("images", "exif-samples__no_exif.jpg"),
            TestContext.Current.CancellationToken);
        using var stream = new MemoryStream(builder.BuildJpeg(pixels));
        return ExifReader.Read(stream);
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
