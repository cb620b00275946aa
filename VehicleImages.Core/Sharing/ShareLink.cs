namespace VehicleImages.Core.Sharing;

/// <summary>What a share shows: the vehicle's listing, or every complete photo that may be shown (shared/CONTRACT.md, "Share links").</summary>
public static class ShareSets
{
    public const string Listing = "listing";
    public const string All = "all";
    public static readonly IReadOnlyList<string> Names = [Listing, All];
}

/// <summary>
/// A link that shows a vehicle's photos to people without an account. The token itself is never stored in the clear:
/// <see cref="TokenHash"/> (SHA-256) finds the share, <see cref="TokenProtected"/> (encrypted with the app's data-protection
/// keys) lets the owner copy the link again. A password is kept only as an Identity password hash; every change bumps
/// <see cref="PasswordVersion"/>, which the visitor's access cookie carries, so a changed password ends old cookies.
/// </summary>
public sealed class ShareLink
{
    public Guid Id { get; set; }
    public Guid VehicleId { get; set; }
    public Guid UserId { get; set; }
    public required string TokenHash { get; set; }
    public required string TokenProtected { get; set; }
    public string Set { get; set; } = ShareSets.Listing;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public string? PasswordHash { get; set; }
    public int PasswordVersion { get; set; }
    public bool AllowDownload { get; set; } = true;
    public bool Indexable { get; set; }
    public long Views { get; set; }
    public DateTimeOffset? LastViewedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
