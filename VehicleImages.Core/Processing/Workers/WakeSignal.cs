namespace VehicleImages.Core.Processing.Workers;

/// <summary>Wakes the claimer: a new job, a finished worker, a resume. Several wakes before it looks count as one.</summary>
public sealed class WakeSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Set()
    {
        // Already set is the common case (every finished job and every notification sets it while the
        // claimer is busy): answered without the exception, which cost a fifth of the app's CPU in a
        // drain (ADR 013). Two setters racing past the check still meet the catch.
        if (_signal.CurrentCount > 0)
            return;
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Set meanwhile by another.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
