namespace VehicleImages.Core.Privacy;

/// <summary>The privacy boxes' settings (section <c>Privacy</c>).</summary>
public sealed class PrivacyOptions
{
    public const string SectionName = "Privacy";

    /// <summary>The local plate and face detector runs on every photo (and, by a backfill, on photos stored before it).</summary>
    public bool LocalDetector { get; set; } = true;

    /// <summary>Where the OpenCV Haar cascades are: Debian's <c>opencv-data</c> puts them here.</summary>
    public string CascadeFolder { get; set; } = PrivacyDetector.DefaultCascadeFolder;
}
