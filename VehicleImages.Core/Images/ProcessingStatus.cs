namespace VehicleImages.Core.Images;

/// <summary>
/// The one set of status words, shared by a photo (vehicle_images.processing_status, what people see)
/// and its jobs (image_processing_jobs.status): pending, processing, complete, failed, cancelled — the
/// contract's words. Queue SQL spells them through these constants (<c>using static</c>), never as literals.
/// </summary>
public static class ProcessingStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Complete = "complete";
    public const string Failed = "failed";

    /// <summary>
    /// An administrator cancelled the photo's job: it never runs, the photo shows Cancelled with the reason
    /// "cancelled by an administrator", and only an administrator can queue it again.
    /// </summary>
    public const string Cancelled = "cancelled";

    /// <summary>Statuses that end a photo's processing without an analysis: a person (or an admin) decides what next.</summary>
    public static readonly IReadOnlyList<string> Stopped = [Failed, Cancelled];
}
