namespace VehicleImages.Core.Privacy;

/// <summary>
/// A rectangle of a photo to hide when it leaves the app: a number plate or a face, in fractions of the oriented image
/// (as components' bbox). One row per box; a person's boxes (source <c>user</c>) outrank the detector's and the
/// provider's, and writers of <c>local</c> and <c>ai</c> boxes never touch a photo a person reviewed.
/// </summary>
public sealed class PrivacyBox
{
    public Guid Id { get; set; }
    public Guid ImageId { get; set; }
    /// <summary><see cref="PrivacyBoxKind.Plate"/> or <see cref="PrivacyBoxKind.Face"/>.</summary>
    public required string Kind { get; set; }
    public double X { get; set; }
    public double Y { get; set; }
    public double Width { get; set; }
    public double Height { get; set; }
    /// <summary><see cref="PrivacyBoxSource.Ai"/>, <see cref="PrivacyBoxSource.Local"/> or <see cref="PrivacyBoxSource.User"/>.</summary>
    public required string Source { get; set; }
    /// <summary>The detector's or provider's confidence in 0..1; null for a person's box.</summary>
    public float? Confidence { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A photo a person reviewed for plates and faces: they saved its boxes, or said none are visible. AI and local boxes
/// alone never make a photo reviewed. No row means unreviewed.
/// </summary>
public sealed class PrivacyReview
{
    public Guid ImageId { get; set; }
    public DateTimeOffset ReviewedAt { get; set; }
    /// <summary>True when the person said no plate or face is visible (and the photo has no boxes).</summary>
    public bool NoneVisible { get; set; }
}

public static class PrivacyBoxKind
{
    public const string Plate = "plate";
    public const string Face = "face";

    public static readonly IReadOnlyList<string> All = [Plate, Face];
}

public static class PrivacyBoxSource
{
    /// <summary>From the analysis provider's tier 1 answer.</summary>
    public const string Ai = "ai";
    /// <summary>From the local detector in the pipeline.</summary>
    public const string Local = "local";
    /// <summary>Drawn or kept by a person: outranks the others and survives re-analysis.</summary>
    public const string User = "user";
}
