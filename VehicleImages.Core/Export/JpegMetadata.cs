using System.Buffers.Binary;

namespace VehicleImages.Core.Export;

/// <summary>
/// Takes the metadata out of a JPEG without touching its pixels: the file is a list of segments, copied as they are
/// except APP1 (EXIF with GPS, serial numbers, maker notes; XMP), APP13 (IPTC), the other vendor APPn segments,
/// comments, and APP2 unless it is the ICC colour profile (MPF pictures carry EXIF of their own). Anything after
/// the end-of-image marker (appended previews) is dropped. The orientation survives as a minimal EXIF of one tag.
/// </summary>
public static class JpegMetadata
{
    /// <summary>The JPEG without its metadata; null when the bytes are not a well-formed JPEG.</summary>
    public static byte[]? Strip(ReadOnlySpan<byte> jpeg, int? orientation)
    {
        using var output = new MemoryStream(jpeg.Length);
        return Strip(jpeg, orientation, output) ? output.ToArray() : null;
    }

    /// <summary>
    /// Writes the JPEG without its metadata into <paramref name="output"/> (emptied first; an export reuses one for every
    /// entry, so a big export does not leave a photo-sized array behind per entry); false when it is not a well-formed JPEG.
    /// </summary>
    public static bool Strip(ReadOnlySpan<byte> jpeg, int? orientation, MemoryStream output)
    {
        output.SetLength(0);
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
            return false;
        output.Write([0xFF, 0xD8]);
        var wroteOrientation = false;
        var pos = 2;
        while (pos < jpeg.Length)
        {
            if (jpeg[pos] != 0xFF)
                return false;
            while (pos < jpeg.Length && jpeg[pos] == 0xFF)
                pos++; // fill bytes
            if (pos >= jpeg.Length)
                return false;
            var marker = jpeg[pos++];
            if (marker == 0xD9)
            {
                output.Write([0xFF, 0xD9]);
                return true;
            }
            if (marker is 0x01 or >= 0xD0 and <= 0xD7)
            {
                output.Write([0xFF, marker]);
                continue;
            }
            if (pos + 2 > jpeg.Length)
                return false;
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[pos..]);
            if (length < 2 || pos + length > jpeg.Length)
                return false;
            var body = jpeg.Slice(pos + 2, length - 2);
            var segmentEnd = pos + length;

            // The minimal EXIF goes after APP0 (JFIF), before anything else, as viewers expect.
            if (!wroteOrientation && marker != 0xE0)
            {
                WriteOrientation(output, orientation);
                wroteOrientation = true;
            }
            if (Keep(marker, body))
            {
                output.Write([0xFF, marker]);
                output.Write(jpeg[pos..segmentEnd]);
            }
            pos = segmentEnd;
            if (marker != 0xDA)
                continue;

            // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart marker.
            var start = pos;
            while (pos + 1 < jpeg.Length && !(jpeg[pos] == 0xFF && jpeg[pos + 1] is not 0x00 and not (>= 0xD0 and <= 0xD7)))
                pos++;
            if (pos + 1 >= jpeg.Length)
                return false; // no end-of-image marker: a cut file
            output.Write(jpeg[start..pos]);
        }
        return false;
    }

    private static bool Keep(byte marker, ReadOnlySpan<byte> body) => marker switch
    {
        0xE0 => true,                                   // APP0: JFIF
        0xE2 => body.StartsWith("ICC_PROFILE\0"u8),     // APP2: the colour profile only (not MPF)
        0xEE => body.StartsWith("Adobe"u8),             // APP14: Adobe's colour transform flag, needed to decode
        >= 0xE1 and <= 0xEF => false,                   // APP1 EXIF/XMP, APP13 IPTC, vendor segments
        0xFE => false,                                  // comments
        _ => true,                                      // frame, tables, scans
    };

    /// <summary>An APP1 EXIF segment holding IFD0 with the orientation tag alone (nothing when the photo is upright).</summary>
    private static void WriteOrientation(Stream output, int? orientation)
    {
        if (orientation is not (>= 2 and <= 8) || orientation is not { } value)
            return;
        Span<byte> segment =
        [
            0xFF, 0xE1, 0x00, 0x22,                         // APP1, length 34
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'I', (byte)'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // little-endian TIFF, IFD0 at 8
            0x01, 0x00,                                     // one entry
            0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, // 0x0112 Orientation, SHORT, count 1
            (byte)value, 0x00, 0x00, 0x00,                  // the value
            0x00, 0x00, 0x00, 0x00,                         // no next IFD
        ];
        output.Write(segment);
    }
}
