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
}
