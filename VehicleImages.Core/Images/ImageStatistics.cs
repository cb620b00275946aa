using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Images;

/// <summary>Counts across all users, for administrators.</summary>
public sealed class ImageStatistics(IDbContextFactory<VehicleImagesDbContext> contexts)
{
    public async Task<StatusCounts> CountsAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var byStatus = await db.VehicleImages
            .GroupBy(i => i.ProcessingStatus)
            .Select(g => new { Status = g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.Status, x => x.Count, cancellationToken);
        return new StatusCounts(
            byStatus.GetValueOrDefault(ProcessingStatus.Pending),
            byStatus.GetValueOrDefault(ProcessingStatus.Processing),
            byStatus.GetValueOrDefault(ProcessingStatus.Complete),
            byStatus.GetValueOrDefault(ProcessingStatus.Failed));
    }
}
