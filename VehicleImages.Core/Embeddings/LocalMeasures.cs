using NetVips;

namespace VehicleImages.Core.Embeddings;

/// <summary>What the local step measures on one photo: its embedding, focus and exposure.</summary>
public sealed record LocalMeasures(float[] Vector, double Focus, double Exposure)
{
    /// <summary>
    /// Decodes a stored variant (the medium, 1024 px) once: focus is the variance of the Laplacian of its luminance,
    /// exposure how far it is from well exposed (|mean − 118| / 118 plus 3 × the fraction of pixels below 5 or above 250,
    /// 0 best, the Local analyzer's measure turned into a distance), and the embedding comes from the same pixels scaled to 224×224.
    /// </summary>
    public static LocalMeasures Measure(byte[] encoded, ImageEmbedder embedder)
    {
        using var image = Image.NewFromBuffer(encoded, access: Enums.Access.Random);
        var (focus, exposure) = FocusAndExposure(image);
        var vector = embedder.Embed(ImageEmbedder.Pixels(image));
        return new LocalMeasures(vector, focus, exposure);
    }

    public static (double Focus, double Exposure) FocusAndExposure(Image image)
    {
        using var grey = image.Colourspace(Enums.Interpretation.Bw).ExtractBand(0).Cast(Enums.BandFormat.Float);
        using var laplacian = grey.Conv(Image.NewFromArray(new[,] { { 0.0, 1, 0 }, { 1, -4, 1 }, { 0, 1, 0 } }));
        using var shadows = grey < 5;
        using var highlights = grey > 250;
        var deviation = laplacian.Deviate();
        var mean = grey.Avg();
        var clipped = shadows.Avg() / 255 + highlights.Avg() / 255;
        var exposure = Math.Abs(mean - 118) / 118 + 3 * clipped;
        return (deviation * deviation, double.IsFinite(exposure) ? exposure : 10);
    }
}
