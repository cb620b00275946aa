using System.Buffers.Binary;
using System.Text;

namespace VehicleImages.Tests.TestHost;

public enum ExifIfd { Ifd0, Exif, Gps }

/// <summary>
/// Writes a JPEG whose only metadata is the EXIF block a test describes, so a test can state values no camera
/// would write (month 13, latitude 123.5) and see what the reader makes of them.
/// </summary>
public sealed class ExifJpegBuilder
{
    private const ushort ExifIfdPointer = 0x8769;
    private const ushort GpsIfdPointer = 0x8825;

    private readonly Dictionary<ExifIfd, SortedDictionary<ushort, Entry>> ifds = new()
    {
        [ExifIfd.Ifd0] = [],
        [ExifIfd.Exif] = [],
        [ExifIfd.Gps] = [],
    };

    public ExifJpegBuilder Ascii(ExifIfd ifd, ushort tag, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        return Add(ifd, new Entry(tag, 2, (uint)bytes.Length, bytes));
    }

    public ExifJpegBuilder Byte(ExifIfd ifd, ushort tag, byte value) => Add(ifd, new Entry(tag, 1, 1, [value]));

    public ExifJpegBuilder Short(ExifIfd ifd, ushort tag, ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return Add(ifd, new Entry(tag, 3, 1, bytes));
    }

    public ExifJpegBuilder Rational(ExifIfd ifd, ushort tag, params (uint Numerator, uint Denominator)[] values)
    {
        var bytes = new byte[8 * values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8 * i), values[i].Numerator);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8 * i + 4), values[i].Denominator);
        }
        return Add(ifd, new Entry(tag, 5, (uint)values.Length, bytes));
    }

    /// <summary>Degrees, minutes and seconds as EXIF writes them, with the N/S or E/W letter.</summary>
    public ExifJpegBuilder GpsCoordinate(bool latitude, string reference, double degrees, double minutes, double seconds)
    {
        Ascii(ExifIfd.Gps, (ushort)(latitude ? 0x0001 : 0x0003), reference);
        return Rational(ExifIfd.Gps, (ushort)(latitude ? 0x0002 : 0x0004),
            ((uint)Math.Round(degrees * 1000), 1000), ((uint)Math.Round(minutes * 1000), 1000), ((uint)Math.Round(seconds * 1000), 1000));
    }

    /// <summary>A little-endian TIFF structure: IFD0, then the Exif and GPS IFDs it points to.</summary>
    public byte[] BuildTiff()
    {
        var ifd0 = new SortedDictionary<ushort, Entry>(ifds[ExifIfd.Ifd0]);
        // Pointer values are filled in once the sizes are known; the entry size does not depend on them.
        if (ifds[ExifIfd.Exif].Count > 0)
            ifd0[ExifIfdPointer] = new Entry(ExifIfdPointer, 4, 1, new byte[4]);
        if (ifds[ExifIfd.Gps].Count > 0)
            ifd0[GpsIfdPointer] = new Entry(GpsIfdPointer, 4, 1, new byte[4]);

        const uint ifd0Start = 8;
        var exifStart = ifd0Start + Size(ifd0);
        var gpsStart = exifStart + Size(ifds[ExifIfd.Exif]);
        if (ifd0.ContainsKey(ExifIfdPointer))
            BinaryPrimitives.WriteUInt32LittleEndian(ifd0[ExifIfdPointer].Data, exifStart);
        if (ifd0.ContainsKey(GpsIfdPointer))
            BinaryPrimitives.WriteUInt32LittleEndian(ifd0[GpsIfdPointer].Data, gpsStart);

        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer);
        writer.Write("II"u8);
        writer.Write((ushort)42);
        writer.Write(ifd0Start);
        WriteIfd(writer, ifd0, ifd0Start);
        if (ifds[ExifIfd.Exif].Count > 0)
            WriteIfd(writer, ifds[ExifIfd.Exif], exifStart);
        if (ifds[ExifIfd.Gps].Count > 0)
            WriteIfd(writer, ifds[ExifIfd.Gps], gpsStart);
        writer.Flush();
        return buffer.ToArray();
    }

    /// <summary>
    /// SOI, an APP1 Exif segment, then the image data of <paramref name="pixelSource"/> with its own APPn and
    /// COM segments dropped, so that no EXIF of the source file can answer in place of the one under test.
    /// </summary>
    public byte[] BuildJpeg(byte[] pixelSource)
    {
        if (pixelSource is not [0xFF, 0xD8, ..])
            throw new ArgumentException("not a JPEG", nameof(pixelSource));
        var position = 2;
        while (position + 4 <= pixelSource.Length && pixelSource[position] == 0xFF
               && pixelSource[position + 1] is (>= 0xE0 and <= 0xEF) or 0xFE)
            position += 2 + BinaryPrimitives.ReadUInt16BigEndian(pixelSource.AsSpan(position + 2));

        var tiff = BuildTiff();
        using var jpeg = new MemoryStream();
        jpeg.Write([0xFF, 0xD8, 0xFF, 0xE1]);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, checked((ushort)(2 + 6 + tiff.Length)));
        jpeg.Write(length);
        jpeg.Write("Exif\0\0"u8);
        jpeg.Write(tiff);
        jpeg.Write(pixelSource.AsSpan(position));
        return jpeg.ToArray();
    }

    private ExifJpegBuilder Add(ExifIfd ifd, Entry entry)
    {
        ifds[ifd][entry.Tag] = entry;
        return this;
    }

    private static uint Size(SortedDictionary<ushort, Entry> ifd) =>
        ifd.Count == 0 ? 0 : (uint)(2 + 12 * ifd.Count + 4 + ifd.Values.Sum(e => e.Data.Length > 4 ? Even(e.Data.Length) : 0));

    private static int Even(int length) => length + (length & 1);

    private static void WriteIfd(BinaryWriter writer, SortedDictionary<ushort, Entry> ifd, uint start)
    {
        var dataOffset = start + 2 + 12 * (uint)ifd.Count + 4;
        var overflow = new List<byte[]>();
        writer.Write((ushort)ifd.Count);
        foreach (var entry in ifd.Values)
        {
            writer.Write(entry.Tag);
            writer.Write(entry.Type);
            writer.Write(entry.Count);
            if (entry.Data.Length <= 4)
            {
                // Values of up to four bytes sit in the entry itself, left-aligned.
                writer.Write(entry.Data);
                writer.Write(new byte[4 - entry.Data.Length]);
            }
            else
            {
                writer.Write(dataOffset);
                dataOffset += (uint)Even(entry.Data.Length);
                overflow.Add(entry.Data);
            }
        }
        writer.Write(0u); // no next IFD: no thumbnail
        foreach (var data in overflow)
        {
            writer.Write(data);
            if ((data.Length & 1) == 1)
                writer.Write((byte)0); // TIFF offsets are word-aligned
        }
    }

    private sealed record Entry(ushort Tag, ushort Type, uint Count, byte[] Data);
}
