using System.Text.Json;
using System.Text.Json.Nodes;

namespace VehicleImages.Rig;

/// <summary>
/// Makes answers that obey a JSON schema and nothing more, as a provider with strict structured
/// outputs does: any enum value, any pairing the schema allows, strings that may be empty, arrays of
/// any length, and — when <paramref name="honourRanges"/> is false, as some providers do — numbers
/// far outside minimum/maximum.
/// </summary>
public sealed class SchemaAnswers(Random random, bool honourRanges)
{
    public JsonNode? Generate(JsonElement schema)
    {
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            var branches = anyOf.EnumerateArray().ToList();
            return Generate(branches[random.Next(branches.Count)]);
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            var list = values.EnumerateArray().ToList();
            return JsonNode.Parse(list[random.Next(list.Count)].GetRawText());
        }

        return schema.GetProperty("type").GetString() switch
        {
            "object" => new JsonObject(schema.GetProperty("properties").EnumerateObject()
                .Select(p => KeyValuePair.Create(p.Name, Generate(p.Value)))),
            "array" => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => Generate(schema.GetProperty("items")))]),
            "string" => random.Next(4) == 0 ? "" : "text " + random.Next(1000),
            "boolean" => random.Next(2) == 0,
            "integer" => (long)Math.Round(Number(schema)),
            "number" => Number(schema),
            "null" => null,
            var other => throw new InvalidOperationException($"the schema uses type {other}, which this generator does not know"),
        };
    }

    private double Number(JsonElement schema)
    {
        var bounded = honourRanges && schema.TryGetProperty("minimum", out _);
        if (!bounded)
            return random.Next(3) switch { 0 => -random.Next(1, 1000), 1 => random.Next(0, 2), _ => random.NextDouble() * 10_000 };
        var min = schema.GetProperty("minimum").GetDouble();
        var max = schema.GetProperty("maximum").GetDouble();
        return random.Next(4) switch { 0 => min, 1 => max, _ => min + random.NextDouble() * (max - min) };
    }
}
