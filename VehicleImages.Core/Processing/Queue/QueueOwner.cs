namespace VehicleImages.Core.Processing.Queue;

/// <summary>
/// Who claims (locked_by) and for how long (the lease). The name is unique per process start, so a
/// restarted process never mistakes an old claim for its own; one per process, fixed.
/// </summary>
public sealed record QueueOwner(string Name, TimeSpan Lease)
{
    public static QueueOwner ForThisProcess(TimeSpan lease) =>
        new($"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}", lease);
}
