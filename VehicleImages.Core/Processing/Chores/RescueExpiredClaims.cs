using VehicleImages.Core.Alerts;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>
/// Returns claims whose worker died or hung (lease expired) to the queue, or fails them when their
/// attempts are spent and alerts the admins. Runs on every instance; the statement itself keeps two
/// rescuers from handling one job.
/// </summary>
public sealed class RescueExpiredClaims(JobQueue queue, AlertService alerts) : IChore
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var failed = await queue.RescueExpiredAsync(cancellationToken);
        if (failed.Count > 0)
            Observability.Telemetry.JobsFinished.Add(failed.Count, Observability.Telemetry.Tag("outcome", "failed"));
        foreach (var image in failed)
            await alerts.ImageFailedAsync(image.ImageId, image.FileName, image.Error, cancellationToken);
        return failed.Count;
    }
}
