using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Reads a provider's answer on arrival. An answer that obeys the schema we sent is always accepted:
/// what the schema cannot enforce on every provider (ranges, the taxonomy for providers that ignore
/// enums) is repaired rather than refused — a score is clamped, a category is kept with an unknown
/// angle, a component without a name is dropped — and each repair is listed under "repairs" in the
/// stored tier. Only an answer we cannot read at all (not JSON, a required value missing or of the
/// wrong type) is malformed, which the queue treats as transient: asking the same photo again would
/// otherwise fail it for good on an answer that was fine.
/// </summary>
public static class TierAnswers
{
    public const string RepairsKey = "repairs";

    public static JsonObject Parse(Tier tier, string? content)
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

        var repairs = new List<string>();
        switch (tier)
        {
            case Tier.Classification:
                Tier1(answer, repairs);
                break;
            case Tier.Components:
                Tier2(answer, repairs);
                break;
            case Tier.Expert:
                Tier3(answer, repairs);
                break;
        }

        if (repairs.Count > 0)
            answer[RepairsKey] = new JsonArray([.. repairs.Select(r => (JsonNode)r!)]);
        return answer;
    }

    private static void Tier1(JsonObject answer, List<string> repairs)
    {
        string? category, angle;
        if (Str(answer[Prompts.ViewKey]) is { } view)
        {
            var dot = view.IndexOf('.');
            (category, angle) = dot < 0 ? (view, null) : (view[..dot], view[(dot + 1)..]);
            answer.Remove(Prompts.ViewKey);
        }
        else
        {
            (category, angle) = (Str(answer["category"]), Str(answer["angle"]));
        }

        (category, angle) = Classify(category, angle, repairs);
        answer["category"] = category;
        answer["angle"] = angle;

        answer["quality_score"] = Clamp(Number(answer, "quality_score", Tier.Classification) ?? throw Malformed(Tier.Classification, "quality_score must be a number"), 1, 10, "quality_score", repairs, integer: true);
        if (answer["suitable_for_expert"] is not JsonValue v || !v.TryGetValue<bool>(out _))
        {
            repairs.Add("suitable_for_expert was not true or false: taken as false");
            answer["suitable_for_expert"] = false;
        }

        answer["confidence"] = Number(answer, "confidence", Tier.Classification) is { } confidence
            ? Clamp(confidence, 0, 1, "confidence", repairs)
            : Repaired(0.0, "confidence was missing: taken as 0", repairs);
        // Missing (an answer to an older prompt): tier 1 said nothing about plates, and the photo's ai boxes stay as they are.
        if (answer[Prompts.PrivacyBoxesKey] is { } boxes)
            answer[Prompts.PrivacyBoxesKey] = PrivacyBoxes(boxes, repairs);
    }

    /// <summary>Smallest side of a privacy box worth keeping, as a fraction of the image (below it, a degenerate box).</summary>
    public const double MinPrivacyBoxSide = 0.002;

    /// <summary>
    /// Visible plates and faces. Each box is clamped into the image, and
    /// one of another kind, without its four numbers, or with (almost) no area left is dropped; each repair is recorded.
    /// </summary>
    private static JsonArray PrivacyBoxes(JsonNode node, List<string> repairs)
    {
        var kept = new JsonArray();
        if (node is not JsonArray boxes)
        {
            repairs.Add($"{Prompts.PrivacyBoxesKey} was not a list: none taken");
            return kept;
        }
        var n = 0;
        foreach (var item in boxes)
        {
            n++;
            var kind = item is JsonObject o ? Str(o["kind"]) : null;
            if (item is not JsonObject box || kind is not ("plate" or "face"))
            {
                repairs.Add($"privacy box {n} is not a plate or a face: dropped");
                continue;
            }
            var values = new[] { "x", "y", "width", "height" }.Select(k => box[k] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : (double?)null).ToArray();
            if (values.Any(v => v is null))
            {
                repairs.Add($"privacy box {n} ({kind}) was incomplete: dropped");
                continue;
            }
            var (x, y, w, h) = (values[0]!.Value, values[1]!.Value, values[2]!.Value, values[3]!.Value);
            var inside = x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= 1 && y + h <= 1;
            if (!inside)
            {
                var (left, top) = (Math.Clamp(x, 0, 1), Math.Clamp(y, 0, 1));
                (w, h) = (Math.Clamp(x + w, 0, 1) - left, Math.Clamp(y + h, 0, 1) - top);
                (x, y) = (left, top);
            }
            if (w < MinPrivacyBoxSide || h < MinPrivacyBoxSide)
            {
                repairs.Add($"privacy box {n} ({kind}) has no area inside the image: dropped");
                continue;
            }
            if (!inside)
                repairs.Add(string.Create(CultureInfo.InvariantCulture, $"privacy box {n} ({kind}) reached outside the image: clamped to {x:0.###},{y:0.###} {w:0.###}×{h:0.###}"));
            kept.Add(new JsonObject { ["kind"] = kind, ["x"] = x, ["y"] = y, ["width"] = w, ["height"] = h });
        }
        return kept;
    }

    /// <summary>The privacy boxes of a stored tier-1 answer (already repaired); null when the answer has none listed.</summary>
    public static IReadOnlyList<Privacy.BoxF>? PrivacyBoxes(JsonObject tier1) =>
        tier1[Prompts.PrivacyBoxesKey] is JsonArray boxes
            ? [.. boxes.OfType<JsonObject>().Select(b => new Privacy.BoxF((string)b["kind"]!, (double)b["x"]!, (double)b["y"]!, (double)b["width"]!, (double)b["height"]!))]
            : null;

    /// <summary>A valid pair as it is; a known category with a foreign angle keeps the category; anything else is unknown.</summary>
    private static (string Category, string Angle) Classify(string? category, string? angle, List<string> repairs)
    {
        if (category is not null && angle is not null && Taxonomy.IsValid(category, angle))
            return (category, angle);
        if (category is not null && Taxonomy.AnglesOf(category).Count > 0)
        {
            if (angle != Taxonomy.Unknown)
                repairs.Add($"'{angle}' is not an angle of {category}: kept the category, angle unknown");
            return (category, Taxonomy.Unknown);
        }

        repairs.Add($"'{category}.{angle}' is not in the taxonomy: category and angle unknown");
        return (Taxonomy.Unknown, Taxonomy.Unknown);
    }

    private static void Tier2(JsonObject answer, List<string> repairs)
    {
        if (answer["components"] is not JsonArray components)
            throw Malformed(Tier.Components, "components must be an array");

        var kept = new JsonArray();
        foreach (var c in components)
        {
            if (c is not JsonObject component || Str(component["name"]) is not { Length: > 0 } name)
            {
                repairs.Add("dropped a component without a name");
                continue;
            }

            var condition = Str(component["condition"]);
            if (condition is not null && !Prompts.Conditions.Contains(condition))
            {
                repairs.Add($"condition '{condition}' of {name} is not one of ours: unknown");
                condition = Taxonomy.Unknown;
            }

            var box = component["bbox"] as JsonObject;
            var corners = box is null ? null : new[] { "x", "y", "width", "height" }.Select(k => Number(box, k, Tier.Components)).ToArray();
            if (box is not null && corners!.Any(n => n is null))
            {
                repairs.Add($"bbox of {name} was incomplete: dropped");
                corners = null;
            }

            kept.Add(new JsonObject
            {
                ["name"] = name,
                ["area"] = Str(component["area"]),
                ["condition"] = condition,
                ["confidence"] = Number(component, "confidence", Tier.Components) is { } confidence ? Clamp(confidence, 0, 1, $"confidence of {name}", repairs) : null,
                ["bbox"] = corners is null ? null : new JsonObject
                {
                    ["x"] = Clamp(corners[0]!.Value, 0, 1, $"bbox x of {name}", repairs),
                    ["y"] = Clamp(corners[1]!.Value, 0, 1, $"bbox y of {name}", repairs),
                    ["width"] = Clamp(corners[2]!.Value, 0, 1, $"bbox width of {name}", repairs),
                    ["height"] = Clamp(corners[3]!.Value, 0, 1, $"bbox height of {name}", repairs),
                },
            });
        }

        answer["components"] = kept;
    }

    private static void Tier3(JsonObject answer, List<string> repairs)
    {
        if (Str(answer["summary"]) is null)
            answer["summary"] = Repaired("", "summary was missing", repairs);
        answer["condition_rating"] = Clamp(Number(answer, "condition_rating", Tier.Expert) ?? throw Malformed(Tier.Expert, "condition_rating must be a number"),
            1, 10, "condition_rating", repairs, integer: true);
        foreach (var key in new[] { "damage", "recommendations" })
        {
            if (answer[key] is not JsonArray list)
                throw Malformed(Tier.Expert, "damage and recommendations must be arrays");
            answer[key] = new JsonArray([.. list.Select(Str).OfType<string>().Select(s => (JsonNode)s!)]);
        }
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

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A number, also when a lenient provider sends it as a string ("8"); null when absent; malformed when neither.</summary>
    private static double? Number(JsonObject o, string key, Tier tier) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) && double.IsFinite(d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
        _ => throw Malformed(tier, $"{key} must be a number"),
    };

    private static JsonNode Clamp(double value, double min, double max, string what, List<string> repairs, bool integer = false)
    {
        var repaired = Math.Clamp(integer ? Math.Round(value, MidpointRounding.AwayFromZero) : value, min, max);
        if (repaired != value)
            repairs.Add($"{what} {value.ToString(CultureInfo.InvariantCulture)} is outside {min}-{max}: {repaired.ToString(CultureInfo.InvariantCulture)}");
        return integer ? JsonValue.Create((int)repaired) : JsonValue.Create(repaired);
    }

    private static T Repaired<T>(T value, string what, List<string> repairs)
    {
        repairs.Add(what);
        return value;
    }

    private static AnalysisException Malformed(Tier tier, string what) =>
        new(AnalysisFailure.Transient, $"malformed answer from the provider (tier {tier.Number()}): {what}");
}
