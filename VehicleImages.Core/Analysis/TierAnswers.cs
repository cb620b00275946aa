using System.Text.Json;
using System.Text.Json.Nodes;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Checks a provider's answer again on arrival, whatever the provider promised: anything outside the
/// schema or the taxonomy is a malformed answer, which the queue treats as transient.
/// </summary>
public static class TierAnswers
{
    public static JsonObject Parse(int tier, string? content)
    {
        JsonObject answer;
        try
        {
            answer = JsonNode.Parse(content ?? "") as JsonObject ?? throw Malformed(tier, "not a JSON object");
        }
        catch (JsonException e)
        {
            throw Malformed(tier, "not JSON: " + e.Message);
        }

        switch (tier)
        {
            case 1:
                var category = Text(answer, "category", tier);
                var angle = Text(answer, "angle", tier);
                if (!Taxonomy.IsValid(category, angle))
                    throw Malformed(tier, $"'{category}.{angle}' is not in the taxonomy");
                Require(Int(answer, "quality_score", tier) is >= 1 and <= 10, tier, "quality_score must be 1-10");
                Require(answer["suitable_for_expert"] is JsonValue v && v.TryGetValue<bool>(out _), tier, "suitable_for_expert must be true or false");
                Require(Number(answer, "confidence", tier) is >= 0 and <= 1, tier, "confidence must be 0-1");
                break;
            case 2:
                if (answer["components"] is not JsonArray components)
                    throw Malformed(tier, "components must be an array");
                foreach (var c in components)
                {
                    if (c is not JsonObject component)
                        throw Malformed(tier, "each component must be an object");
                    Text(component, "name", tier);
                    Require(Number(component, "confidence", tier) is >= 0 and <= 1, tier, "component confidence must be 0-1");
                    if (component["bbox"] is JsonObject box)
                        foreach (var key in new[] { "x", "y", "width", "height" })
                            Require(Number(box, key, tier) is >= 0 and <= 1, tier, $"bbox {key} must be a fraction 0-1");
                }

                break;
            case 3:
                Text(answer, "summary", tier);
                Require(Int(answer, "condition_rating", tier) is >= 1 and <= 10, tier, "condition_rating must be 1-10");
                Require(answer["damage"] is JsonArray && answer["recommendations"] is JsonArray, tier, "damage and recommendations must be arrays");
                break;
        }

        return answer;
    }

    public static IEnumerable<LocatedComponent> Components(JsonObject tier2) =>
        (tier2["components"] as JsonArray ?? []).OfType<JsonObject>().Select(c => new LocatedComponent(
            Cut((string)c["name"]!, 200),
            c["area"] is JsonValue a && a.TryGetValue<string>(out var area) ? Cut(area, 200) : null,
            c["condition"] is JsonValue k && k.TryGetValue<string>(out var condition) ? Cut(condition, 200) : null,
            c["confidence"]?.GetValue<double>(),
            (c["bbox"] as JsonObject)?["x"]?.GetValue<double>(),
            (c["bbox"] as JsonObject)?["y"]?.GetValue<double>(),
            (c["bbox"] as JsonObject)?["width"]?.GetValue<double>(),
            (c["bbox"] as JsonObject)?["height"]?.GetValue<double>(),
            2));

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..max];

    private static string Text(JsonObject o, string key, int tier) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : throw Malformed(tier, $"{key} must be a non-empty string");

    private static double? Number(JsonObject o, string key, int tier) =>
        o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw Malformed(tier, $"{key} must be a number");

    private static int? Int(JsonObject o, string key, int tier) =>
        o[key] is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) ? (int)d : throw Malformed(tier, $"{key} must be an integer");

    private static void Require(bool ok, int tier, string what)
    {
        if (!ok)
            throw Malformed(tier, what);
    }

    private static AnalysisException Malformed(int tier, string what) =>
        new(AnalysisFailure.Transient, $"malformed answer from the provider (tier {tier}): {what}");
}
