using System.Text.Json.Nodes;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Every prompt and answer schema, in one place and versioned: a change here changes PromptVersion,
/// which is stored with each analysis so results can be traced to the words that produced them.
/// </summary>
public static class Prompts
{
    public const string PromptVersion = "2026-11-24.1";

    public const string System =
        "You analyse photographs of vehicles for people who restore, sell and document them. " +
        "Answer only with JSON matching the given schema. Left and right are as seen from the driver's seat.";

    public static string ForTier(int tier) => tier switch
    {
        1 => "Classify this photo. category and angle must be a pair from this taxonomy (category: angles): " +
             string.Join("; ", Taxonomy.Categories.Select(c => $"{c.Category}: {string.Join(", ", c.Angles)}")) +
             ". Use unknown/unknown only when nothing can tell. quality_score is 1-10 for use in a listing " +
             "(focus, exposure, framing). suitable_for_expert is true when the photo is sharp and detailed enough " +
             "for an expert to judge condition. confidence is 0-1.",
        2 => "List the vehicle parts and components visible in this photo with their condition. bbox locates each " +
             "component as fractions (0-1) of the image's width and height from the top-left corner, or null when " +
             "it cannot be placed. confidence is 0-1.",
        3 => "Give an expert reading of this vehicle photo: a short summary, condition_rating 1-10, originality " +
             "(original, restored, modified or unknown, with a few words why), visible damage, and recommendations.",
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static string SchemaName(int tier) => $"vehicle_photo_tier_{tier}";

    /// <summary>Strict JSON schemas: every property required, nothing else allowed, the taxonomy as enums.</summary>
    public static JsonObject Schema(int tier) => tier switch
    {
        1 => Object(new()
        {
            ["category"] = Enum(Taxonomy.CategoryNames.Append(Taxonomy.Unknown)),
            ["angle"] = Enum(Taxonomy.Categories.SelectMany(c => c.Angles).Append(Taxonomy.Unknown).Distinct()),
            ["quality_score"] = new JsonObject { ["type"] = "integer" },
            ["suitable_for_expert"] = new JsonObject { ["type"] = "boolean" },
            ["confidence"] = new JsonObject { ["type"] = "number" },
            ["lighting"] = Enum(["dark", "normal", "bright", "mixed"]),
            ["focus"] = Enum(["sharp", "soft", "blurry"]),
            ["closeup"] = new JsonObject { ["type"] = "boolean" },
        }),
        2 => Object(new()
        {
            ["components"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = Object(new()
                {
                    ["name"] = new JsonObject { ["type"] = "string" },
                    ["area"] = new JsonObject { ["type"] = "string" },
                    ["condition"] = Enum(Conditions),
                    ["confidence"] = new JsonObject { ["type"] = "number" },
                    ["bbox"] = new JsonObject
                    {
                        ["anyOf"] = new JsonArray(
                            Object(new()
                            {
                                ["x"] = new JsonObject { ["type"] = "number" },
                                ["y"] = new JsonObject { ["type"] = "number" },
                                ["width"] = new JsonObject { ["type"] = "number" },
                                ["height"] = new JsonObject { ["type"] = "number" },
                            }),
                            new JsonObject { ["type"] = "null" }),
                    },
                }),
            },
        }),
        3 => Object(new()
        {
            ["summary"] = new JsonObject { ["type"] = "string" },
            ["condition_rating"] = new JsonObject { ["type"] = "integer" },
            ["originality"] = new JsonObject { ["type"] = "string" },
            ["damage"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
            ["recommendations"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static readonly string[] Conditions = ["good", "fair", "poor", "damaged", "missing", "unknown"];

    private static JsonObject Enum(IEnumerable<string> values) =>
        new() { ["type"] = "string", ["enum"] = new JsonArray(values.Select(v => (JsonNode)v!).ToArray()) };

    private static JsonObject Object(Dictionary<string, JsonNode> properties) => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["required"] = new JsonArray(properties.Keys.Select(k => (JsonNode)k!).ToArray()),
        ["additionalProperties"] = false,
    };
}
