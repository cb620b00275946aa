namespace VehicleImages.Web.Live;

/// <summary>
/// One change at a time to a live list: a load, a page turn, a batch of events and new uploads each
/// run alone, in the order they arrive, so none of them sees the list half-changed by another.
/// </summary>
public sealed class ChangeGate
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task RunAsync(Func<Task> change)
    {
        await _gate.WaitAsync();
        try
        {
            await change();
        }
        finally
        {
            _gate.Release();
        }
    }
}
