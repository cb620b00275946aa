namespace VehicleImages.Core.Listings;

public static class ListingMode
{
    /// <summary>Derived from the analysis whenever it is read.</summary>
    public const string Auto = "auto";

    /// <summary>The person's order, stored.</summary>
    public const string Manual = "manual";
}

/// <summary>One photo of the listing: its place from 1, its shot ("category.angle") and why it is there.</summary>
public sealed record ListingItem(Guid ImageId, int Position, string Shot, string Reason);

/// <summary>A photo of the vehicle that is not in the listing, and why.</summary>
public sealed record TrayItem(Guid ImageId, string Reason);

/// <summary>
/// A vehicle's listing as the contract shows it, with what a person needs beside it: how many photos are still being
/// analysed (the listing fills in as they finish) and a note when the listing could not follow the shot sequence.
/// </summary>
public sealed record ListingView(
    string Mode, int Version, Guid? CoverImageId, IReadOnlyList<ListingItem> Items, IReadOnlyList<string> MissingShots,
    IReadOnlyList<TrayItem> Tray, int StillAnalysing, string? Note);

/// <summary>The stored state of a vehicle's listing: a row exists once someone edited or rebuilt it.</summary>
public sealed class VehicleListing
{
    public Guid VehicleId { get; set; }
    public string Mode { get; set; } = ListingMode.Auto;
    /// <summary>The person's order (manual mode); empty in auto mode.</summary>
    public List<Guid> ImageIds { get; set; } = [];
    /// <summary>Bumped by every write: the ETag, and the If-Match a save must carry.</summary>
    public int Version { get; set; }
    public DateTimeOffset? EditedAt { get; set; }
}
