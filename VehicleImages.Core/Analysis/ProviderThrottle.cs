using System.Threading.RateLimiting;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// One per provider and instance, shared by every worker: paces calls to the provider's RequestsPerMinute and,
/// when the provider answers 429, holds every caller until its Retry-After has passed, so the whole
/// provider slows down rather than one job at a time.
/// </summary>
public sealed class ProviderThrottle : IDisposable
{
    private readonly RateLimiter _limiter;
    private readonly TimeProvider _time;
    private long _pausedUntilTicks;

    public ProviderThrottle(int perMinute, TimeProvider time)
    {
        _time = time;
        // A token bucket refilled evenly: at most a small burst, then one request per 60/N seconds.
        _limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, perMinute / 10),
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / perMinute),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <summary>How long callers must still wait because of a 429, or zero.</summary>
    public TimeSpan PausedFor
    {
        get
        {
            var remaining = new DateTimeOffset(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero) - _time.GetUtcNow();
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }

    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        while (PausedFor is { } wait && wait > TimeSpan.Zero)
            await Task.Delay(wait, _time, cancellationToken);
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
    }

    /// <summary>The provider said 429: nobody on this instance calls it again before <paramref name="retryAfter"/>.</summary>
    public void PauseFor(TimeSpan retryAfter)
    {
        var until = (_time.GetUtcNow() + retryAfter).UtcTicks;
        long current;
        do
        {
            current = Interlocked.Read(ref _pausedUntilTicks);
            if (current >= until)
                return;
        }
        while (Interlocked.CompareExchange(ref _pausedUntilTicks, until, current) != current);
    }

    public void Dispose() => _limiter.Dispose();
}
