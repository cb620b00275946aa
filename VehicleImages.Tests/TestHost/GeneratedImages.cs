using System.Buffers.Binary;
using System.IO.Compression;
using NetVips;

namespace VehicleImages.Tests.TestHost;

/// <summary>Files made by the tests for the ingest limits: huge-but-small files, and JPEGs cut at a known row.</summary>
public static class GeneratedImages
{
    /// <summary>
    /// An Adam7-interlaced 16-bit RGB PNG of all-black pixels, written row by row (never whole in memory):
    /// 15000×10000 is 150 megapixels, about 900 MB once decoded, under 1 MB on disk.
    /// </summary>
    public static void WriteInterlacedPng16(string path, int width, int height)
    {
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 16; // bit depth
        ihdr[9] = 2;  // RGB
        ihdr[12] = 1; // Adam7
        WriteChunk(file, "IHDR", ihdr);

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            // Adam7 passes: (x start, y start, x step, y step). Each row: filter byte 0, then 6 bytes a pixel.
            (int X, int Y, int Dx, int Dy)[] passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
            var row = new byte[1 + width * 6];
            foreach (var (x0, y0, dx, dy) in passes)
            {
                var cols = width > x0 ? (width - x0 + dx - 1) / dx : 0;
                var rows = height > y0 ? (height - y0 + dy - 1) / dy : 0;
                if (cols == 0)
                    continue;
                for (var r = 0; r < rows; r++)
                    z.Write(row, 0, 1 + cols * 6);
            }
        }

        var data = idat.ToArray();
        for (var i = 0; i < data.Length; i += 1 << 20)
            WriteChunk(file, "IDAT", data.AsSpan(i, Math.Min(1 << 20, data.Length - i)));
        WriteChunk(file, "IEND", []);
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(typeBytes);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        stream.Write(word);
    }

    /// <summary>A flat-coloured progressive 4:2:0 JPEG: small on disk, yet libjpeg buffers every coefficient to decode it.</summary>
    public static void WriteProgressiveJpeg(string path, int width, int height)
    {
        using var black = Image.Black(width, height, bands: 3);
        using var grey = black.Linear(new double[] { 1 }, new double[] { 96 }).Cast(Enums.BandFormat.Uchar);
        using var srgb = grey.Copy(interpretation: Enums.Interpretation.Srgb);
        srgb.Jpegsave(path, q: 75, interlace: true);
    }

    /// <summary>A real camera photo (Canon 40D) at 3840×2160 as a baseline 4:4:4 JPEG, with restart markers every so many blocks (0: none).</summary>
    public static byte[] CameraJpeg(int restartInterval)
    {
        using var source = Image.NewFromFile(TestData.Image("exif-samples__Canon_40D.jpg"));
        using var uhd = source.ThumbnailImage(3840, height: 2160, size: Enums.Size.Force);
        return uhd.JpegsaveBuffer(q: 90, subsampleMode: Enums.ForeignSubsample.Off, restartInterval: restartInterval);
    }

    /// <summary>
    /// A real camera photo at 3840×2160, saved as a baseline 4:4:4 JPEG with a restart marker before
    /// every row of 8×8 blocks, then cut just before the marker of block row <c>(2160 - missingRows) / 8</c>:
    /// exactly the last <paramref name="missingRows"/> rows have no data, known from how the file was cut.
    /// </summary>
    public static byte[] CameraJpegMissingLastRows(int missingRows)
    {
        if (missingRows % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(missingRows), "a multiple of 8 (one block row)");
        var jpeg = CameraJpeg(restartInterval: 3840 / 8);
        if (missingRows == 0)
            return jpeg;
        var keepBlockRows = (2160 - missingRows) / 8;
        var marker = 0;
        var sos = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xDA]);
        for (var i = sos + 2; i < jpeg.Length - 1; i++)
        {
            if (jpeg[i] != 0xFF || jpeg[i + 1] is < 0xD0 or > 0xD7)
                continue;
            // Restart marker k comes after block row k (counting from 0): before row k + 1.
            if (++marker == keepBlockRows)
                return jpeg[..i];
        }

        throw new InvalidOperationException($"found only {marker} restart markers");
    }

    /// <summary>An uncompressed 8-bit RGB TIFF (grey pixels) in strips of <paramref name="rowsPerStrip"/> rows; height = one strip.</summary>
    public static void WriteStripTiff(string path, int width, int height, int rowsPerStrip)
    {
        var strips = (height + rowsPerStrip - 1) / rowsPerStrip;
        const int entries = 10;
        var ifdSize = 2 + entries * 12 + 4;
        var bitsAt = 8 + ifdSize;
        var offsetsAt = bitsAt + 6;
        var countsAt = offsetsAt + 4 * strips;
        var dataAt = countsAt + 4 * strips;
        using var file = File.Create(path);
        using var w = new BinaryWriter(file);
        w.Write("II"u8);
        w.Write((ushort)42);
        w.Write(8u);
        w.Write((ushort)entries);
        void Entry(ushort tag, ushort type, uint count, uint value)
        {
            w.Write(tag);
            w.Write(type);
            w.Write(count);
            w.Write(value); // a SHORT value sits in the low bytes (little-endian)
        }

        const ushort Short = 3, Long = 4;
        Entry(256, Long, 1, (uint)width);
        Entry(257, Long, 1, (uint)height);
        Entry(258, Short, 3, (uint)bitsAt);
        Entry(259, Short, 1, 1);     // no compression
        Entry(262, Short, 1, 2);     // RGB
        Entry(273, Long, (uint)strips, strips == 1 ? (uint)dataAt : (uint)offsetsAt);
        Entry(277, Short, 1, 3);
        Entry(278, Long, 1, (uint)rowsPerStrip);
        Entry(279, Long, (uint)strips, strips == 1 ? (uint)(width * 3 * height) : (uint)countsAt);
        Entry(284, Short, 1, 1);     // chunky
        w.Write(0u);
        w.Write((ushort)8);
        w.Write((ushort)8);
        w.Write((ushort)8);
        for (var i = 0; i < strips; i++)
            w.Write((uint)(dataAt + i * rowsPerStrip * width * 3));
        for (var i = 0; i < strips; i++)
            w.Write((uint)(Math.Min(rowsPerStrip, height - i * rowsPerStrip) * width * 3));
        var row = Enumerable.Repeat((byte)96, width * 3).ToArray();
        for (var y = 0; y < height; y++)
            w.Write(row);
    }
}
