namespace VehicleImages.Core.Processing;

/// <summary>
/// One analysis provider's state, shared by every instance: an outage seen by one is known to all,
/// and one probe per break tests it again (see ProviderHealth).
/// </summary>
public sealed class AnalysisProviderState
{
    public required string Name { get; set; }
    public string? Model { get; set; }
    public required string State { get; set; }
    public DateTimeOffset Since { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset NextProbeAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public static class ProviderStates
{
    public const string Available = "available";
    public const string Unavailable = "unavailable";
}
