using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Processing;

/// <summary>Delays between attempts: the configured schedule, each with up to ±20% jitter so retries spread out.</summary>
public sealed class RetryPolicy(IOptions<ProcessingOptions> options)
{
    private const double Jitter = 0.2;

    public int MaxAttempts => options.Value.MaxAttempts;

    /// <summary>Delay before retry <paramref name="retryNumber"/> (1 = after the first attempt failed).</summary>
    public TimeSpan Delay(int retryNumber, Random? random = null)
    {
        var baseDelay = options.Value.RetryDelay(retryNumber);
        var factor = 1 + ((random ?? Random.Shared).NextDouble() * 2 - 1) * Jitter;
        return TimeSpan.FromMilliseconds(Math.Max(0, baseDelay.TotalMilliseconds * factor));
    }
}
