namespace VehicleImages.Core.Alerts;

public sealed class AdminAlert
{
    public Guid Id { get; set; }
    public required string Kind { get; set; }
    public required string Message { get; set; }
    public Guid? ImageId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? AcknowledgedAt { get; set; }
    public Guid? AcknowledgedBy { get; set; }
}
