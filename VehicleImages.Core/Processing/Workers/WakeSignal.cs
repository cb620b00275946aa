namespace VehicleImages.Core.Processing;

/// <summary>Wakes the claimer: a new job, a finished worker, a resume. Several wakes before it looks count as one.</summary>
public sealed class WakeSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Set()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
