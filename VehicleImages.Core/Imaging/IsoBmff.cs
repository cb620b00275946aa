using System.Buffers.Binary;

namespace VehicleImages.Core.Imaging;

/// <summary>
/// HEIC and AVIF files are ISO-BMFF boxes, each declaring its own size. libheif (in Magick.NET and
/// in libvips) decodes a file whose image data was cut off without an error: the missing tiles come
/// out grey. A cut-off file is told by its boxes instead: the last one claims more bytes than the file has.
/// </summary>
public static class IsoBmff
{
    public static void CheckComplete(string path)
    {
        using var stream = File.OpenRead(path);
        var length = stream.Length;
        Span<byte> head = stackalloc byte[16];
        long offset = 0;
        while (offset < length)
        {
            stream.Position = offset;
            var read = stream.ReadAtLeast(head, 16, throwOnEndOfStream: false);
            if (read < 8)
                throw Truncated(length, offset + 8);
            long size = BinaryPrimitives.ReadUInt32BigEndian(head);
            if (size == 1)
            {
                if (read < 16)
                    throw Truncated(length, offset + 16);
                size = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(head[8..]), long.MaxValue / 2);
            }
            else if (size == 0)
            {
                return; // the last box runs to the end of the file, whatever its length
            }

            if (size < 8)
                return; // not a box structure we can judge; the decoder will say what is wrong
            if (offset + size > length)
                throw Truncated(length, offset + size);
            offset += size;
        }
    }

    private static ImageRejectedException Truncated(long length, long declared) => new(
        $"truncated file: the image data ends early ({length:N0} of the {declared:N0} bytes its boxes declare are there; was the upload or the copy interrupted?).");
}
