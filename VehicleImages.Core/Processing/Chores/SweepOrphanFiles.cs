using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>Removes temporary files and stored files that no photo row uses (left by a process killed mid-upload), past a grace period.</summary>
public sealed class SweepOrphanFiles(OrphanSweeper sweeper) : IChore
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var swept = await sweeper.SweepAsync(OrphanSweeper.Grace, cancellationToken);
        return swept.TemporaryFiles + swept.OrphanFiles;
    }
}
