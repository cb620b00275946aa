namespace VehicleImages.Core.Images;

/// <summary>A component that tier 2 located in an image; the box is in fractions of the oriented image.</summary>
public sealed class ImageSpatialMetadata
{
    public Guid Id { get; set; }
    public Guid ImageId { get; set; }
    public required string ComponentName { get; set; }
    public string? Area { get; set; }
    public string? Condition { get; set; }
    public double? Confidence { get; set; }
    public double? BboxX { get; set; }
    public double? BboxY { get; set; }
    public double? BboxWidth { get; set; }
    public double? BboxHeight { get; set; }
    public int Tier { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
