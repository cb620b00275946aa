using VehicleImages.Core.Images;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>
/// One attempt-counted unit of work for one image. At most one live (pending or processing) job per
/// image. A job that completes leaves this table in its completion statement: its record lives on in
/// the attempt history (<see cref="ImageProcessingAttempt"/>, outcome complete, with the job's id and
/// priority). Failed and cancelled jobs stay, for Retry. The database row is the truth: the in-process
/// Channel only carries ids of claims made here.
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

    /// <summary>Lower runs first: <see cref="JobPriority"/>.</summary>
    public short Priority { get; set; }

    /// <summary>The provider whose outage failed the last attempt, so its attempt can be given back when the outage is recognised.</summary>
    public string? OutageProvider { get; set; }

    /// <summary>The W3C traceparent of the upload that queued the job, so the analysis continues its trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>How many attempts in a row that provider's outage cost this job; all are given back.</summary>
    public short OutageAttempts { get; set; }
}

/// <summary>
/// Which jobs are claimed first (lower first): a new upload's badge never waits behind a large
/// re-analysis or backfill.
/// </summary>
public static class JobPriority
{
    public const short Upload = 0;
    public const short Backfill = 5;
    public const short Reanalysis = 9;
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

    /// <summary>
    /// Who answered this attempt (or was asked, when nothing answered) and, when it completed, what it cost.
    /// </summary>
    public string? Provider { get; set; }
    public string? Model { get; set; }
    public int? PromptTokens { get; set; }
    public int? CompletionTokens { get; set; }

    /// <summary>
    /// The job's priority, recorded by the attempt that completed it (the job row leaves then, ADR 017),
    /// so the job explorer still shows it; null on other attempts, whose job row keeps it.
    /// </summary>
    public short? Priority { get; set; }
}

/// <summary>Pipeline-wide switches, one row, shared by every instance.</summary>
public sealed class ProcessingControl
{
    public int Id { get; set; } = 1;
    public bool Paused { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
