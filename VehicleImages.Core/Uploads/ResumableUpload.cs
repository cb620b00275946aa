namespace VehicleImages.Core.Uploads;

/// <summary>
/// One tus upload (shared/CONTRACT.md, "Resumable uploads"). The row is the truth: <see cref="Offset"/>
/// counts the bytes that are durable in <see cref="IUploadBytes"/>, so any instance can answer HEAD and
/// take the next PATCH. <see cref="State"/> goes uploading → finishing (one claimer runs the ingest) →
/// created / duplicate / rejected, the same outcomes as the multipart call.
/// </summary>
public sealed class ResumableUpload
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public Guid VehicleId { get; set; }
    public required string FileName { get; set; }
    public string? FileType { get; set; }
    public long Length { get; set; }
    public long Offset { get; set; }
    public required string State { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>When the current claimer began the ingest; a claim older than <see cref="ResumableUploadService.StaleClaim"/> may be taken over.</summary>
    public DateTimeOffset? FinishingSince { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public Guid? ImageId { get; set; }
    public string? Error { get; set; }

    /// <summary>The object store's multipart upload that holds the bytes (S3), once its first part is written; null for the file store.</summary>
    public string? StorageUploadId { get; set; }

    /// <summary>The multipart upload's parts whose bytes the offset counts, as JSON (<see cref="UploadParts"/>); null for none.</summary>
    public string? StorageParts { get; set; }
}

public static class UploadState
{
    public const string Uploading = "uploading";
    public const string Finishing = "finishing";
}
