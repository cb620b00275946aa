using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>Queues photos that have no analysis and no job (from before this system, or let slip by a crash), as the admin's Backfill does.</summary>
public sealed class SweepUnqueuedImages(ProcessingCommands commands) : IChore
{
    public Task<int> RunAsync(CancellationToken cancellationToken) => commands.BackfillAsync(cancellationToken);
}
