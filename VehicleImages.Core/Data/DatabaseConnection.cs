namespace VehicleImages.Core.Processing;

/// <summary>The configured connection string, for the one connection opened outside the pool.</summary>
public sealed record DatabaseConnection(string ConnectionString);
