namespace VehicleImages.Core.Images;

/// <summary>
/// One photo. Column names are the ones the old system's users query (see shared/CONTRACT.md);
/// the JSON columns hold raw jsonb text so that what a reader wrote is stored exactly.
/// </summary>
public sealed class VehicleImage
{
    public Guid Id { get; set; }
    public Guid VehicleId { get; set; }
    public Guid UserId { get; set; }
    public required string FileName { get; set; }
    public string? ExifData { get; set; }
    public string? Variants { get; set; }
    public DateTimeOffset? TakenAt { get; set; }
    public bool IsPrimary { get; set; }
    public string ProcessingStatus { get; set; } = Images.ProcessingStatus.Pending;
    public string? ProcessingError { get; set; }
    /// <summary>
    /// Keys tier_1_analysis… appear only once their tier has run. Never write a JSON null for a tier:
    /// the contract's status query tests <c>ai_scan_metadata->'tier_1_analysis' IS NOT NULL</c>, and a
    /// jsonb null is not SQL NULL.
    /// </summary>
    public string? AiScanMetadata { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public static class ProcessingStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Complete = "complete";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> All = [Pending, Processing, Complete, Failed];
}
