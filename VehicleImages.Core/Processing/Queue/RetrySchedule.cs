using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>
/// When a failed attempt runs again: the configured delays (Processing:RetryDelaysSeconds, default
/// 5, 15, 60 s; the last repeats), each with up to ±20% jitter so retries spread out, until
/// Processing:MaxAttempts are spent. The rescuer applies the same schedule in SQL.
/// </summary>
public sealed class RetrySchedule(IOptions<ProcessingOptions> options)
{
    public const double Jitter = 0.2;

    public int MaxAttempts => options.Value.MaxAttempts;

    /// <summary>True when the attempt just spent was the last one, or the error is one no retry can fix.</summary>
    public bool IsFinal(int attempt, bool permanent) => permanent || attempt >= MaxAttempts;

    /// <summary>Delay before retry <paramref name="retryNumber"/> (1 = after the first attempt failed).</summary>
    public TimeSpan Delay(int retryNumber, Random? random = null)
    {
        var baseDelay = options.Value.RetryDelay(retryNumber);
        var factor = 1 + ((random ?? Random.Shared).NextDouble() * 2 - 1) * Jitter;
        return TimeSpan.FromMilliseconds(Math.Max(0, baseDelay.TotalMilliseconds * factor));
    }

    /// <summary>The base delays in seconds, for statements that schedule many jobs at once.</summary>
    public double[] BaseDelaysSeconds =>
        [.. options.Value.EffectiveRetryDelaysSeconds.Select(s => (double)s)];
}
