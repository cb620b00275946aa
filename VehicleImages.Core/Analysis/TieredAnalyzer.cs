using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Tier 1 (category, angle, quality) on every photo, from the medium variant; tier 2 (components) when
/// quality reaches Analysis:Tier2MinQuality; tier 3 (expert reading) when tier 2 ran, the photo's long
/// edge reaches Analysis:Tier3MinLongEdge and tier 1 found it suitable for an expert. Tiers 2 and 3
/// see the large variant. Each tier's answer is saved the moment it arrives, so a retry resumes at the
/// first tier without a result and never pays for a finished tier again.
/// </summary>
public sealed class TieredAnalyzer(
    IVisionClient vision, IImageStore store, ProviderThrottle throttle, IOptions<AnalysisOptions> options, TimeProvider time) : IImageAnalyzer
{
    public const string ProviderName = "OpenAI";
    public const string SkippedQuality = "skipped: quality below threshold";
    public const string SkippedResolution = "skipped: resolution";
    public const string SkippedNotSuitable = "skipped: not suitable for expert";

    public async Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var existing = request.Existing ?? [];
        var usage = existing["usage"]?.DeepClone() as JsonObject ?? [];
        var skipped = new JsonObject();
        var reached = 0;

        async Task<JsonObject> TierAsync(int tier, string variant)
        {
            var key = $"tier_{tier}_analysis";
            if (existing[key] is JsonObject done)
            {
                reached = tier;
                return (JsonObject)done.DeepClone();
            }

            var answer = await AskAsync(request, tier, variant, cancellationToken);
            var counts = usage[key] as JsonObject ?? [];
            counts["calls"] = (counts["calls"]?.GetValue<int>() ?? 0) + 1;
            counts["input_tokens"] = (counts["input_tokens"]?.GetValue<int>() ?? 0) + answer.InputTokens;
            counts["output_tokens"] = (counts["output_tokens"]?.GetValue<int>() ?? 0) + answer.OutputTokens;
            usage[key] = counts;
            await request.SaveTierAsync(key, answer.Answer.DeepClone(), cancellationToken);
            await request.SaveTierAsync("usage", usage.DeepClone(), cancellationToken);
            reached = tier;
            return answer.Answer;
        }

        var tier1 = await TierAsync(1, "medium");
        var quality = tier1["quality_score"]!.GetValue<int>();
        var suitable = tier1["suitable_for_expert"]!.GetValue<bool>();
        JsonObject? tier2 = null;
        if (quality >= o.Tier2MinQuality)
            tier2 = await TierAsync(2, "large");
        else
            skipped["tier_2_analysis"] = SkippedQuality;

        var longEdge = Math.Max(request.Width ?? 0, request.Height ?? 0);
        if (tier2 is null)
            skipped["tier_3_analysis"] = SkippedQuality;
        else if (longEdge < o.Tier3MinLongEdge)
            skipped["tier_3_analysis"] = SkippedResolution;
        else if (!suitable)
            skipped["tier_3_analysis"] = SkippedNotSuitable;
        else
            await TierAsync(3, "large");

        var metadata = new JsonObject
        {
            ["provider"] = ProviderName,
            ["model"] = o.Model,
            ["prompt_version"] = Prompts.PromptVersion,
            ["analyzed_at"] = time.GetUtcNow(),
            ["skipped"] = skipped,
            ["usage"] = usage,
        };
        var categorization = new AiCategorization(
            tier1["category"]!.GetValue<string>(), tier1["angle"]!.GetValue<string>(), tier1["confidence"]!.GetValue<double>());
        return new AnalysisResult(metadata, categorization, tier2 is null ? [] : [.. TierAnswers.Components(tier2)], reached);
    }

    private async Task<VisionAnswer> AskAsync(AnalysisRequest request, int tier, string variant, CancellationToken cancellationToken)
    {
        var (jpeg, _) = await request.ReadVariantAsync(store, variant, cancellationToken);

        await throttle.AcquireAsync(cancellationToken);
        return await vision.AskAsync(tier, jpeg, cancellationToken);
    }
}
