using System.Text.Json.Nodes;
using NetVips;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Analysis;

/// <summary>Pixel measurements of one image, all on the medium variant's luminance.</summary>
public sealed record PixelMetrics(double LaplacianVariance, double MeanLuminance, double ClippedShadows, double ClippedHighlights,
    double Contrast, double Noise, int LongEdge)
{
    /// <summary>
    /// quality_score = round(1 + 9 × (0.40·sharpness + 0.25·exposure + 0.15·contrast + 0.10·noise + 0.10·resolution)), where
    /// sharpness = log-scaled variance of the Laplacian (≤ 20 → 0, ≥ 500 → 1);
    /// exposure = 1 − |mean − 118| / 118, less 3 × the fraction of clipped pixels (below 5 or above 250);
    /// contrast = luminance standard deviation / 60; noise = 1 − (median-filter residual σ − 2) / 10;
    /// resolution = original long edge / 2000 (at least 0.2). Every part is clamped to [0, 1].
    /// </summary>
    public int QualityScore => (int)Math.Round(1 + 9 * (0.40 * Sharpness + 0.25 * Exposure + 0.15 * ContrastScore + 0.10 * NoiseScore + 0.10 * Resolution));

    public double Sharpness => Clamp((Math.Log10(Math.Max(LaplacianVariance, 1)) - Math.Log10(20)) / (Math.Log10(500) - Math.Log10(20)));
    public double Exposure => Clamp(1 - Math.Abs(MeanLuminance - 118) / 118 - 3 * (ClippedShadows + ClippedHighlights));
    public double ContrastScore => Clamp(Contrast / 60);
    public double NoiseScore => Clamp(1 - (Noise - 2) / 10);
    public double Resolution => Math.Max(0.2, Clamp(LongEdge / 2000.0));

    private static double Clamp(double v) => double.IsFinite(v) ? Math.Clamp(v, 0, 1) : 0;

    public static PixelMetrics Measure(byte[] jpeg, int longEdge)
    {
        using var image = Image.NewFromBuffer(jpeg);
        using var grey = image.Colourspace(Enums.Interpretation.Bw).ExtractBand(0).Cast(Enums.BandFormat.Float);
        using var laplacian = grey.Conv(Image.NewFromArray(new[,] { { 0.0, 1, 0 }, { 1, -4, 1 }, { 0, 1, 0 } }));
        using var shadows = grey < 5;
        using var highlights = grey > 250;
        using var median = grey.Rank(3, 3, 4);
        using var residual = grey - median;
        var deviation = laplacian.Deviate();
        return new PixelMetrics(
            deviation * deviation,
            grey.Avg(),
            shadows.Avg() / 255,
            highlights.Avg() / 255,
            grey.Deviate(),
            residual.Deviate(),
            longEdge);
    }
}

/// <summary>
/// The built-in analyzer (Analysis:Provider=Local): no network, real pixel measurements for tier 1's
/// quality. It does not pretend to know what the photo shows: category and angle are "unknown" and
/// tiers 2 and 3 are skipped, saying why.
/// </summary>
public sealed class LocalAnalyzer(IImageStore store, TimeProvider time) : IImageAnalyzer
{
    public const string ProviderName = "Local";
    public const string ModelName = "pixel-metrics-1";
    public const string NoProvider = "skipped: no AI provider";

    public async Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, ITierResults results, CancellationToken cancellationToken)
    {
        var (bytes, medium) = await request.ReadVariantAsync(store, Tier.Classification.Variant(), cancellationToken);

        var longEdge = Math.Max(request.Width ?? medium.Width ?? 0, request.Height ?? medium.Height ?? 0);
        PixelMetrics m;
        try
        {
            m = await Task.Run(() => PixelMetrics.Measure(bytes, longEdge), cancellationToken);
        }
        catch (VipsException e)
        {
            throw new AnalysisException(AnalysisFailure.Permanent, "the stored medium variant cannot be decoded: " + e.Message, inner: e);
        }

        var tier1 = new JsonObject
        {
            ["category"] = Images.Taxonomy.Unknown,
            ["angle"] = Images.Taxonomy.Unknown,
            ["quality_score"] = m.QualityScore,
            ["suitable_for_expert"] = false,
            ["confidence"] = 0.0,
            ["lighting"] = m.MeanLuminance < 60 ? "dark" : m.MeanLuminance > 190 ? "bright" : "normal",
            ["focus"] = m.Sharpness < 0.3 ? "blurry" : m.Sharpness < 0.7 ? "soft" : "sharp",
            ["closeup"] = null,
            ["measurements"] = new JsonObject
            {
                ["laplacian_variance"] = Math.Round(m.LaplacianVariance, 2),
                ["mean_luminance"] = Math.Round(m.MeanLuminance, 2),
                ["clipped_shadows"] = Math.Round(m.ClippedShadows, 4),
                ["clipped_highlights"] = Math.Round(m.ClippedHighlights, 4),
                ["contrast"] = Math.Round(m.Contrast, 2),
                ["noise"] = Math.Round(m.Noise, 2),
                ["long_edge"] = m.LongEdge,
            },
        };
        await results.SaveAsync(Tier.Classification, tier1, null, cancellationToken);

        var metadata = new JsonObject
        {
            ["provider"] = ProviderName,
            ["model"] = ModelName,
            ["prompt_version"] = null,
            ["analyzed_at"] = time.GetUtcNow(),
            ["skipped"] = new JsonObject { [Tiers.ComponentsKey] = NoProvider, [Tiers.ExpertKey] = NoProvider },
        };
        return new AnalysisResult(metadata, new AiCategorization(Images.Taxonomy.Unknown, Images.Taxonomy.Unknown, 0), [], 1)
        {
            Usage = new AttemptUsage(ProviderName, ModelName, 0, 0),
        };
    }
}
