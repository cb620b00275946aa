using VehicleImages.Core.Images;

namespace VehicleImages.Web.Components.Shared;

/// <summary>What a photo is, in words, for people who cannot see it (its alt text).</summary>
public static class PhotoText
{
    /// <summary>The shot and the status, e.g. "Front 3/4 left, analyzed" or "Interior, dashboard, failed"; never a file name.</summary>
    public static string Alt(ImageSummary image) => $"{Shot(image.Category, image.Angle)}, {StatusBadge.Label(image.ProcessingStatus).ToLowerInvariant()}";

    public static string Shot(string category, string angle) => (category, angle) switch
    {
        (Taxonomy.Unknown, _) => "Photo, shot not known",
        ("exterior", _) => Taxonomy.Label(angle),
        (_, Taxonomy.Unknown) => Taxonomy.Label(category),
        _ => $"{Taxonomy.Label(category)}, {Taxonomy.Label(angle).ToLowerInvariant()}",
    };
}
