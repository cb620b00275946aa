namespace VehicleImages.Core.Images;

/// <summary>One row per image and source: what the analyzer said, and what a person chose.</summary>
public sealed class VehicleImageAngle
{
    public Guid Id { get; set; }
    public Guid ImageId { get; set; }
    public required string Category { get; set; }
    public required string Angle { get; set; }
    public double? Confidence { get; set; }
    public required string Source { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public static class AngleSource
{
    public const string Ai = "ai";
    public const string User = "user";
    public const string Inherited = "inherited";
    public const string Suggested = "suggested";
}
