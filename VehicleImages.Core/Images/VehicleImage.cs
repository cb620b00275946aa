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

    // What ingest learned about the file. EXIF values also live in exif_data; these columns make
    // them queryable. Nullable because rows from the old system (or inserted by hand) lack them.
    public string? Sha256 { get; set; }
    public string? ContentType { get; set; }
    public long? FileSize { get; set; }
    public int? Width { get; set; }
    public int? Height { get; set; }
    public double? GpsLatitude { get; set; }
    public double? GpsLongitude { get; set; }
    public string? CameraMake { get; set; }
    public string? CameraModel { get; set; }
    public string? LensModel { get; set; }
    public int? Orientation { get; set; }
    public double? ExposureTime { get; set; }
    public double? FNumber { get; set; }
    public int? Iso { get; set; }
    public double? FocalLength { get; set; }
}

public static class ProcessingStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Complete = "complete";
    public const string Failed = "failed";
}
