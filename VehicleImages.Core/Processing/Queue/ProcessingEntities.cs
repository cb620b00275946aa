using VehicleImages.Core.Images;

namespace VehicleImages.Core.Processing;

/// <summary>
/// One attempt-counted unit of work for one image. At most one live (pending or processing) job per
/// image; finished jobs stay for their history until pruned. The database row is the truth: the
/// in-process Channel only carries ids of claims made here.
/// </summary>
public sealed class ImageProcessingJob
{
    public long Id { get; set; }
    public Guid ImageId { get; set; }
    public string Status { get; set; } = ProcessingStatus.Pending;
    /// <summary>Attempts spent, including the one running now.</summary>
    public int Attempt { get; set; }
    public DateTimeOffset RunAt { get; set; }
    public string? LockedBy { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
}

/// <summary>What happened in one attempt: when, how far the tiers got, and why it ended.</summary>
public sealed class ImageProcessingAttempt
{
    public long Id { get; set; }
    public long JobId { get; set; }
    public Guid ImageId { get; set; }
    public int Attempt { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset FinishedAt { get; set; }
    public int TierReached { get; set; }
    public required string Outcome { get; set; }
    public string? Error { get; set; }
}

/// <summary>Pipeline-wide switches, one row, shared by every instance.</summary>
public sealed class ProcessingControl
{
    public int Id { get; set; } = 1;
    public bool Paused { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
