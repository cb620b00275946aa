namespace VehicleImages.Core.Images;

/// <summary>
/// Categories and angles from shared/CONTRACT.md, in the contract's order (the order people see).
/// Left and right are as seen from the driver's seat. "unknown" is where nothing could tell.
/// </summary>
public static class Taxonomy
{
    public const string Unknown = "unknown";

    public static readonly IReadOnlyList<(string Category, IReadOnlyList<string> Angles)> Categories =
    [
        ("exterior", ["front", "front_3q_left", "side_left", "rear_3q_left", "rear", "rear_3q_right", "side_right", "front_3q_right", "overhead"]),
        ("interior", ["dashboard", "instrument_cluster", "steering_wheel", "center_console", "front_seats", "rear_seats", "door_panel", "headliner"]),
        ("engine_bay", ["full", "left", "right", "component"]),
        ("undercarriage", ["full", "front", "rear", "frame", "suspension", "exhaust"]),
        ("wheels_tires", ["wheel", "tire_tread", "brake"]),
        ("cargo", ["trunk", "bed", "tailgate"]),
        ("detail", ["badge", "light", "grille", "door_jamb", "panel", "other"]),
        ("document", ["vin_plate", "odometer", "window_sticker", "receipt"]),
        ("not_vehicle", ["other"]),
    ];

    public static IEnumerable<string> CategoryNames => Categories.Select(c => c.Category);

    public static IReadOnlyList<string> AnglesOf(string category) =>
        Categories.FirstOrDefault(c => c.Category == category).Angles ?? [];

    /// <summary>Every valid pair as "category.angle", unknown.unknown last: the one enum a provider's schema offers.</summary>
    public static IEnumerable<string> Pairs =>
        Categories.SelectMany(c => c.Angles.Select(a => $"{c.Category}.{a}")).Append($"{Unknown}.{Unknown}");

    /// <summary>True for a pair from the table, or unknown/unknown.</summary>
    public static bool IsValid(string category, string angle) =>
        (category == Unknown && angle == Unknown) || AnglesOf(category).Contains(angle);

    /// <summary>"front_3q_left" → "Front 3/4 left".</summary>
    public static string Label(string name) => name switch
    {
        Unknown => "Unknown",
        _ => char.ToUpperInvariant(name[0]) + name[1..].Replace("_3q_", " 3/4 ").Replace('_', ' '),
    };
}
