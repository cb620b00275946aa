using System.Text.Json.Nodes;

namespace VehicleImages.Core.Analysis;

public sealed record ClassificationView(string? Category, string? Angle, int? QualityScore, bool? SuitableForExpert,
    double? Confidence, string? Lighting, string? Focus, IReadOnlyList<string> Repairs);

public sealed record ComponentView(string Name, string? Area, string? Condition, double? Confidence);

public sealed record ExpertView(string? Summary, int? ConditionRating, string? Originality, IReadOnlyList<string> Damage,
    IReadOnlyList<string> Recommendations);

/// <summary>
/// A typed reading of ai_scan_metadata for pages, so no page spells a tier's key or a field's name.
/// A tier that has not run is null; a tier that was skipped has its reason in <see cref="Skipped"/>.
/// Tolerant by design: metadata written by older versions (or by hand) shows what it has.
/// </summary>
public sealed record AnalysisView(
    string? Provider,
    string? Model,
    string? PromptVersion,
    ClassificationView? Classification,
    IReadOnlyList<ComponentView>? Components,
    ExpertView? Expert,
    IReadOnlyDictionary<Tier, string> Skipped)
{
    public const string LocalProvider = LocalAnalyzer.ProviderName;

    public bool IsLocal => Provider == LocalProvider;

    public static AnalysisView? From(JsonNode? metadata)
    {
        if (metadata is not JsonObject m)
            return null;
        var tier1 = m[Tiers.ClassificationKey] as JsonObject;
        var tier2 = m[Tiers.ComponentsKey] as JsonObject;
        var tier3 = m[Tiers.ExpertKey] as JsonObject;
        var skipped = Tiers.All
            .Where(t => m["skipped"]?[t.Key()] is JsonValue)
            .ToDictionary(t => t, t => Text(m["skipped"]![t.Key()]) ?? "");
        return new AnalysisView(
            Text(m["provider"]), Text(m["model"]), Text(m["prompt_version"]),
            tier1 is null ? null : new ClassificationView(Text(tier1["category"]), Text(tier1["angle"]), Int(tier1["quality_score"]),
                Bool(tier1["suitable_for_expert"]), Number(tier1["confidence"]), Text(tier1["lighting"]), Text(tier1["focus"]),
                Texts(tier1[TierAnswers.RepairsKey])),
            tier2 is null ? null : [.. (tier2["components"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(c => new ComponentView(Text(c["name"]) ?? "", Text(c["area"]), Text(c["condition"]), Number(c["confidence"])))],
            tier3 is null ? null : new ExpertView(Text(tier3["summary"]), Int(tier3["condition_rating"]), Text(tier3["originality"]),
                Texts(tier3["damage"]), Texts(tier3["recommendations"])),
            skipped);
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static double? Number(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static int? Int(JsonNode? n) => Number(n) is { } d ? (int)Math.Round(d) : null;

    private static bool? Bool(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    private static IReadOnlyList<string> Texts(JsonNode? n) => n is JsonArray a ? [.. a.Select(Text).OfType<string>()] : [];
}
