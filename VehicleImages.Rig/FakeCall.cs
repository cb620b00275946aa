using System.Text.Json;
using VehicleImages.Core.Analysis;

namespace VehicleImages.Rig;

/// <summary>One request the fake received, with the size of the JPEG it carried (0 × 0 when none could be read).</summary>
public sealed record FakeCall(int Tier, JsonElement Body, string? Authorization)
{
    public int ImageWidth { get; init; }

    public int ImageHeight { get; init; }

    /// <summary>The app's own probe image (VehicleImages.Core.Analysis.ProbeImage), not a user's photo.</summary>
    public bool IsProbe => (ImageWidth, ImageHeight) == (ProbeImage.Width, ProbeImage.Height);

    /// <summary>Width and height from the first JPEG frame header of the request's inline image.</summary>
    public static (int Width, int Height) ImageSize(JsonElement body)
    {
        try
        {
            foreach (var message in body.GetProperty("messages").EnumerateArray())
                if (message.GetProperty("content") is { ValueKind: JsonValueKind.Array } parts)
                    foreach (var part in parts.EnumerateArray())
                        if (part.TryGetProperty("image_url", out var image) && image.GetProperty("url").GetString() is { } url && url.StartsWith("data:"))
                            return JpegSize(Convert.FromBase64String(url[(url.IndexOf(',') + 1)..]));
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Not the shape the app sends: no size.
        }

        return (0, 0);
    }

    private static (int, int) JpegSize(byte[] jpeg)
    {
        var i = 2;
        while (i + 9 < jpeg.Length && jpeg[i] == 0xFF)
        {
            var marker = jpeg[i + 1];
            var length = (jpeg[i + 2] << 8) | jpeg[i + 3];
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                return ((jpeg[i + 7] << 8) | jpeg[i + 8], (jpeg[i + 5] << 8) | jpeg[i + 6]);
            i += 2 + length;
        }

        return (0, 0);
    }
}
