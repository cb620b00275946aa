namespace VehicleImages.Core.Processing.Chores;

/// <summary>A recurring piece of upkeep; <see cref="MaintenanceSchedule"/> says when each runs.</summary>
public interface IChore
{
    /// <summary>Does one round; how many rows or files it handled, for the log.</summary>
    Task<int> RunAsync(CancellationToken cancellationToken);
}
