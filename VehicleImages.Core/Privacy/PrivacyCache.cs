namespace VehicleImages.Core.Privacy;

/// <summary>A photo the local detector has looked at (table image_privacy_scans): a retried attempt and the backfill skip it.</summary>
public sealed class PrivacyScan
{
    public Guid ImageId { get; set; }
    public DateTimeOffset ScannedAt { get; set; }
    /// <summary>How many boxes the detector found (whether or not they were written: a person's boxes outrank it).</summary>
    public int Found { get; set; }
}

/// <summary>
/// The blurred copies of one photo for its current box set (table image_privacy_blurs): <see cref="BoxHash"/> names the
/// box set they were made for; <see cref="Variants"/> maps a size to its stored object (JSON).
/// </summary>
public sealed class PrivacyBlurSet
{
    public Guid ImageId { get; set; }
    public required string BoxHash { get; set; }
    public required string Variants { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
