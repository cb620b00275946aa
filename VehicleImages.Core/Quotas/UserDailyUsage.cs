namespace VehicleImages.Core.Quotas;

/// <summary>
/// What one account did on one UTC day: photos created and analysis provider calls answered. Counted
/// where they happen (ingest's transaction; the statement that saves a tier's answer), so the quotas
/// read one row instead of adding up usage totals inside every photo's ai_scan_metadata.
/// </summary>
public sealed class UserDailyUsage
{
    public Guid UserId { get; set; }
    public DateOnly Day { get; set; }
    public int Photos { get; set; }
    public int ProviderCalls { get; set; }
}
