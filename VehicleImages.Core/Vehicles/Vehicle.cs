namespace VehicleImages.Core.Vehicles;

public sealed class Vehicle
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string Name { get; set; }
    public string? Make { get; set; }
    public string? Model { get; set; }
    public int? Year { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Blur plates and faces (privacy boxes) in everything that leaves the app: on unless the owner turned it off.</summary>
    public bool HidePrivacyBoxes { get; set; } = true;
    /// <summary>When the owner last turned <see cref="HidePrivacyBoxes"/> off; null while it was never off.</summary>
    public DateTimeOffset? PrivacyHidingOffAt { get; set; }

    /// <summary>"1967 Ford Mustang", or empty when none of them is known.</summary>
    public string Description => Describe(Year, Make, Model);

    public static string Describe(int? year, string? make, string? model) =>
        string.Join(" ", new[] { year?.ToString(System.Globalization.CultureInfo.InvariantCulture), make, model }
            .Where(s => !string.IsNullOrWhiteSpace(s)));
}
