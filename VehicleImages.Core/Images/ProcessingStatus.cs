namespace VehicleImages.Core.Images;

/// <summary>
/// The one set of status words, shared by a photo (vehicle_images.processing_status, what people see)
/// and its jobs (image_processing_jobs.status): pending, processing, complete, failed — the contract's
/// words. Queue SQL spells them through these constants (<c>using static</c>), never as literals.
/// </summary>
public static class ProcessingStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Complete = "complete";
    public const string Failed = "failed";

    /// <summary>A job's word only: an administrator cancelled it; it never runs, and its photo shows failed.</summary>
    public const string Cancelled = "cancelled";
}
