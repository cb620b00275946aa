using VehicleImages.Core.Images;

namespace VehicleImages.Core.Listings;

/// <summary>
/// The standard shot sequence of a listing (shared/CONTRACT.md, "Listings and export"), in order: one best photo
/// per shot. The Photo Categorizer's checklist is the same list.
/// </summary>
public static class ShotSequence
{
    public sealed record Shot(string Category, string Angle)
    {
        /// <summary>"exterior.front_3q_left", the contract's spelling.</summary>
        public string Key => $"{Category}.{Angle}";

        /// <summary>"Front 3/4 left" (the category is named where the angle alone would not say it).</summary>
        public string Label => Category == "engine_bay" ? "Engine bay" : Taxonomy.Label(Angle);
    }

    public static readonly IReadOnlyList<Shot> Shots =
    [
        new("exterior", "front_3q_left"),
        new("exterior", "front"),
        new("exterior", "side_left"),
        new("exterior", "rear_3q_left"),
        new("exterior", "rear"),
        new("exterior", "rear_3q_right"),
        new("exterior", "side_right"),
        new("exterior", "front_3q_right"),
        new("wheels_tires", "wheel"),
        new("interior", "dashboard"),
        new("interior", "front_seats"),
        new("interior", "rear_seats"),
        new("interior", "instrument_cluster"),
        new("interior", "steering_wheel"),
        new("interior", "center_console"),
        new("engine_bay", "full"),
        new("cargo", "trunk"),
        new("document", "odometer"),
    ];

    /// <summary>The cover's shot, and the one used when there is none of it.</summary>
    public static readonly Shot Cover = Shots[0];
    public static readonly Shot CoverFallback = new("exterior", "front_3q_right");

    public static bool Contains(string category, string angle) => Shots.Any(s => s.Category == category && s.Angle == angle);
}
