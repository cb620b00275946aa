using VehicleImages.Core.Images;
using VehicleImages.Core.Observability;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>Reads the photos' counts per status for the queue-depth gauge.</summary>
public sealed class MeasureQueueDepth(QueueMonitor monitor) : IChore
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var c = await monitor.CountsAsync(cancellationToken);
        Telemetry.RecordDepth([
            new(ProcessingStatus.Pending, c.Pending), new(ProcessingStatus.Processing, c.Processing),
            new(ProcessingStatus.Complete, c.Complete), new(ProcessingStatus.Failed, c.Failed),
            new(ProcessingStatus.Cancelled, c.Cancelled)]);
        return 0;
    }
}
