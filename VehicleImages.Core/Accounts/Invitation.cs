namespace VehicleImages.Core.Accounts;

/// <summary>
/// A one-time permission to register, for Accounts:Registration = invite. Only the SHA-256 of the
/// token is kept: a copy of the database hands out no usable link.
/// </summary>
public sealed class Invitation
{
    public Guid Id { get; set; }
    public required string TokenHash { get; set; }
    public Guid CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
    public Guid? UsedBy { get; set; }
}
