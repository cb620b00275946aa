using VehicleImages.Core.Uploads;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>Removes resumable uploads past Upload:ResumableExpiryHours (see <see cref="ResumableUploadService"/>), rows and bytes.</summary>
public sealed class SweepExpiredUploads(ResumableUploadService uploads) : IChore
{
    public Task<int> RunAsync(CancellationToken cancellationToken) => uploads.SweepExpiredAsync(cancellationToken);
}
