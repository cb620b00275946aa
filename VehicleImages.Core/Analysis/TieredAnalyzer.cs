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
    ProviderChain providers, IImageStore store, IOptions<AnalysisOptions> options, TimeProvider time) : IImageAnalyzer
{
    public const string SkippedQuality = "skipped: quality below threshold";
    public const string SkippedResolution = "skipped: resolution";
    public const string SkippedNotSuitable = "skipped: not suitable for expert";

    public async Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, ITierResults results, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var usage = request.Existing?[Tiers.UsageKey]?.DeepClone() as JsonObject ?? [];
        var skipped = new JsonObject();
        var reached = 0;
        VisionProvider? servedBy = null;
        var (promptTokens, completionTokens) = (0, 0);

        async Task<JsonObject> TierAsync(Tier tier)
        {
            if (request.Done(tier) is { } done)
            {
                reached = tier.Number();
                return (JsonObject)done.DeepClone();
            }

            var (jpeg, _) = await request.ReadVariantAsync(store, tier.Variant(), cancellationToken);
            var (answer, provider) = await providers.AskAsync(tier, jpeg, cancellationToken);
            servedBy ??= provider;
            (promptTokens, completionTokens) = (promptTokens + answer.InputTokens, completionTokens + answer.OutputTokens);
            var counts = usage[tier.Key()] as JsonObject ?? [];
            counts["provider"] = provider.Name;
            counts["model"] = provider.Model;
            // Per provider too, so each provider of the chain has its own totals.
            var byProvider = counts["by_provider"] as JsonObject ?? [];
            var mine = byProvider[provider.Name] as JsonObject ?? [];
            mine["calls"] = (mine["calls"]?.GetValue<int>() ?? 0) + 1;
            mine["input_tokens"] = (mine["input_tokens"]?.GetValue<int>() ?? 0) + answer.InputTokens;
            mine["output_tokens"] = (mine["output_tokens"]?.GetValue<int>() ?? 0) + answer.OutputTokens;
            byProvider[provider.Name] = mine;
            counts["by_provider"] = byProvider;
            counts["calls"] = (counts["calls"]?.GetValue<int>() ?? 0) + 1;
            counts["input_tokens"] = (counts["input_tokens"]?.GetValue<int>() ?? 0) + answer.InputTokens;
            counts["output_tokens"] = (counts["output_tokens"]?.GetValue<int>() ?? 0) + answer.OutputTokens;
            usage[tier.Key()] = counts;
            await results.SaveAsync(tier, (JsonObject)answer.Answer.DeepClone(), (JsonObject)usage.DeepClone(), cancellationToken);
            reached = tier.Number();
            return answer.Answer;
        }

        var tier1 = await TierAsync(Tier.Classification);
        var quality = tier1["quality_score"]!.GetValue<int>();
        var suitable = tier1["suitable_for_expert"]!.GetValue<bool>();
        JsonObject? tier2 = null;
        if (quality >= o.Tier2MinQuality)
            tier2 = await TierAsync(Tier.Components);
        else
            skipped[Tiers.ComponentsKey] = SkippedQuality;

        var longEdge = Math.Max(request.Width ?? 0, request.Height ?? 0);
        if (tier2 is null)
            skipped[Tiers.ExpertKey] = SkippedQuality;
        else if (longEdge < o.Tier3MinLongEdge)
            skipped[Tiers.ExpertKey] = SkippedResolution;
        else if (!suitable)
            skipped[Tiers.ExpertKey] = SkippedNotSuitable;
        else
            await TierAsync(Tier.Expert);

        var metadata = new JsonObject
        {
            // Who answered tier 1 in this attempt (or, when every tier came from an earlier attempt, who did then).
            ["provider"] = servedBy?.Name ?? (string?)usage[Tiers.ClassificationKey]?["provider"] ?? providers.Providers[0].Name,
            ["model"] = servedBy?.Model ?? (string?)usage[Tiers.ClassificationKey]?["model"] ?? providers.Providers[0].Model,
            ["prompt_version"] = Prompts.PromptVersion,
            ["analyzed_at"] = time.GetUtcNow(),
            ["skipped"] = skipped,
            [Tiers.UsageKey] = usage,
        };
        var categorization = new AiCategorization(
            tier1["category"]!.GetValue<string>(), tier1["angle"]!.GetValue<string>(), tier1["confidence"]!.GetValue<double>());
        return new AnalysisResult(metadata, categorization, tier2 is null ? [] : [.. TierAnswers.Components(tier2)], reached)
        {
            Usage = servedBy is null ? null : new AttemptUsage(servedBy.Name, servedBy.Model, promptTokens, completionTokens),
            PrivacyBoxes = TierAnswers.PrivacyBoxes(tier1),
        };
    }
}
