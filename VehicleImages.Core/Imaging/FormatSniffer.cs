using System.Text;

namespace VehicleImages.Core.Imaging;

public enum ImageFormat
{
    Jpeg,
    Png,
    WebP,
    Gif,
    Heic,
    Avif,
    Tiff,
}

/// <summary>
/// Tells the format from the file's first bytes, never from its name or declared type. Only these
/// formats are accepted; libvips would otherwise pick any loader it has (SVG, PDF, …) from the bytes.
/// </summary>
public static class FormatSniffer
{
    public const int HeaderBytes = 64;

    private static readonly HashSet<string> HeicBrands = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"];
    private static readonly HashSet<string> AvifBrands = ["avif", "avis"];
    private static readonly HashSet<string> GenericHeifBrands = ["mif1", "msf1", "mif2", "miaf"];

    public static ImageFormat? Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
            return ImageFormat.Jpeg;
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
            return ImageFormat.Png;
        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8))
            return ImageFormat.Gif;
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
            return ImageFormat.WebP;
        if (head.StartsWith((ReadOnlySpan<byte>)[(byte)'I', (byte)'I', 42, 0]) || head.StartsWith((ReadOnlySpan<byte>)[(byte)'M', (byte)'M', 0, 42]))
            return ImageFormat.Tiff;
        return SniffIsoBmff(head);
    }

    /// <summary>HEIF and AVIF: an ISO-BMFF 'ftyp' box whose major or compatible brands say which.</summary>
    private static ImageFormat? SniffIsoBmff(ReadOnlySpan<byte> head)
    {
        if (head.Length < 16 || !head[4..8].SequenceEqual("ftyp"u8))
            return null;
        var boxSize = (int)Math.Min((uint)(head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3]), (uint)head.Length);
        if (boxSize < 16)
            return null;
        var brands = new List<string> { Encoding.ASCII.GetString(head[8..12]) };
        for (var i = 16; i + 4 <= boxSize; i += 4)
            brands.Add(Encoding.ASCII.GetString(head[i..(i + 4)]));

        if (brands.Any(AvifBrands.Contains))
            return ImageFormat.Avif;
        if (brands.Any(HeicBrands.Contains) || brands.Any(GenericHeifBrands.Contains))
            return ImageFormat.Heic;
        return null;
    }

    public static string ContentType(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.Png => "image/png",
        ImageFormat.WebP => "image/webp",
        ImageFormat.Gif => "image/gif",
        ImageFormat.Heic => "image/heic",
        ImageFormat.Avif => "image/avif",
        ImageFormat.Tiff => "image/tiff",
        _ => "application/octet-stream",
    };

    public static string Extension(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => ".jpg",
        ImageFormat.Png => ".png",
        ImageFormat.WebP => ".webp",
        ImageFormat.Gif => ".gif",
        ImageFormat.Heic => ".heic",
        ImageFormat.Avif => ".avif",
        ImageFormat.Tiff => ".tiff",
        _ => ".bin",
    };
}
