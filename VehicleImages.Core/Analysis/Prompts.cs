using System.Text.Json.Nodes;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Every prompt and answer schema, in one place and versioned: a change here changes PromptVersion,
/// which is stored with each analysis so results can be traced to the words that produced them.
/// </summary>
public static class Prompts
{
    public const string PromptVersion = "2026-12-07.1";

    public const string System =
        "You analyse photographs of vehicles for people who restore, sell and document them. " +
        "Answer only with JSON matching the given schema. Left and right are as seen from the driver's seat.";

    public static string ForTier(Tier tier) => tier switch
    {
        Tier.Classification => "Classify this photo. view is its category and angle as one \"category.angle\" pair from this taxonomy " +
             "(category: angles): " +
             string.Join("; ", Taxonomy.Categories.Select(c => $"{c.Category}: {string.Join(", ", c.Angles)}")) +
             ". Use unknown.unknown only when nothing can tell. quality_score is 1-10 for use in a listing " +
             "(focus, exposure, framing). suitable_for_expert is true when the photo is sharp and detailed enough " +
             "for an expert to judge condition. confidence is 0-1. " + PrivacyBoxesKey + " lists every number plate (kind plate) " +
             "and every human face (kind face) visible in the photo, even partly or small, each with its box as fractions (0-1) " +
             "of the image's width and height from the top-left corner; an empty list when there is none.",
        Tier.Components => "List the vehicle parts and components visible in this photo with their condition. bbox locates each " +
             "component as fractions (0-1) of the image's width and height from the top-left corner, or null when " +
             "it cannot be placed. confidence is 0-1.",
        Tier.Expert => "Give an expert reading of this vehicle photo: a short summary, condition_rating 1-10, originality " +
             "(original, restored, modified or unknown, with a few words why), visible damage, and recommendations.",
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static string SchemaName(Tier tier) => $"vehicle_photo_tier_{tier.Number()}";

    /// <summary>The tier-1 property holding the "category.angle" pair; the stored answer splits it into category and angle.</summary>
    public const string ViewKey = "view";

    /// <summary>The tier-1 property listing visible number plates and faces (privacy boxes, issue 27).</summary>
    public const string PrivacyBoxesKey = "privacy_boxes";

    /// <summary>
    /// Strict JSON schemas: every property required, nothing else allowed. Every rule the answer is
    /// checked against is in the schema in a form every provider honours: category and angle are one
    /// enum of valid pairs (two enums side by side would allow document with door_panel), ranges are
    /// stated as minimum/maximum too, and TierAnswers repairs on arrival what a provider ignores.
    /// </summary>
    public static JsonObject Schema(Tier tier) => tier switch
    {
        Tier.Classification => Object(new()
        {
            [ViewKey] = Enum(Taxonomy.Pairs),
            ["quality_score"] = Range("integer", 1, 10),
            ["suitable_for_expert"] = new JsonObject { ["type"] = "boolean" },
            ["confidence"] = Range("number", 0, 1),
            ["lighting"] = Enum(["dark", "normal", "bright", "mixed"]),
            ["focus"] = Enum(["sharp", "soft", "blurry"]),
            ["closeup"] = new JsonObject { ["type"] = "boolean" },
            [PrivacyBoxesKey] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = Object(new()
                {
                    ["kind"] = Enum(["plate", "face"]),
                    ["x"] = Range("number", 0, 1),
                    ["y"] = Range("number", 0, 1),
                    ["width"] = Range("number", 0, 1),
                    ["height"] = Range("number", 0, 1),
                }),
            },
        }),
        Tier.Components => Object(new()
        {
            ["components"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = Object(new()
                {
                    ["name"] = new JsonObject { ["type"] = "string" },
                    ["area"] = new JsonObject { ["type"] = "string" },
                    ["condition"] = Enum(Conditions),
                    ["confidence"] = Range("number", 0, 1),
                    ["bbox"] = new JsonObject
                    {
                        ["anyOf"] = new JsonArray(
                            Object(new()
                            {
                                ["x"] = Range("number", 0, 1),
                                ["y"] = Range("number", 0, 1),
                                ["width"] = Range("number", 0, 1),
                                ["height"] = Range("number", 0, 1),
                            }),
                            new JsonObject { ["type"] = "null" }),
                    },
                }),
            },
        }),
        Tier.Expert => Object(new()
        {
            ["summary"] = new JsonObject { ["type"] = "string" },
            ["condition_rating"] = Range("integer", 1, 10),
            ["originality"] = new JsonObject { ["type"] = "string" },
            ["damage"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
            ["recommendations"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static readonly string[] Conditions = ["good", "fair", "poor", "damaged", "missing", "unknown"];

    private static JsonObject Enum(IEnumerable<string> values) =>
        new() { ["type"] = "string", ["enum"] = new JsonArray(values.Select(v => (JsonNode)v!).ToArray()) };

    private static JsonObject Range(string type, int minimum, int maximum) =>
        new() { ["type"] = type, ["minimum"] = minimum, ["maximum"] = maximum };

    private static JsonObject Object(Dictionary<string, JsonNode> properties) => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["required"] = new JsonArray(properties.Keys.Select(k => (JsonNode)k!).ToArray()),
        ["additionalProperties"] = false,
    };
}
