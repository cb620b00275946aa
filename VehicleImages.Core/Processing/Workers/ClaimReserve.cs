namespace VehicleImages.Core.Processing.Workers;

/// <summary>
/// How many claims a worker pool holds, working, waiting and being written: enough that no worker
/// waits on the database. Claiming and writing a result each take a round trip; while they are on
/// their way, each worker gets through (round trips ÷ job time) more jobs. So a pool whose jobs take
/// seconds (a remote provider) holds two claims per worker, as few as possible, so that other
/// instances find work; a pool whose jobs take a millisecond (a local model, quick failures) holds
/// up to <see cref="MaxPerWorker"/> per worker and claims and writes them in batches.
/// </summary>
public sealed class ClaimReserve(int workers)
{
    public const int MinPerWorker = 2;
    /// <summary>
    /// 64, not 16, since two claims and two completion batches can be in flight (ADR 015): with 16 per
    /// worker each statement carried ~10 jobs; held claims are leased and renewed in one statement.
    /// 128 since the photos' status updates stay HOT (ADR 019): a larger claim no longer spills new row
    /// versions to other pages, and 96 and 128 drained 10-15 % faster than 64 in the same rounds.
    /// Settable for the benchmark's queue-settings figure.
    /// </summary>
    public static int MaxPerWorker { get; set; } = 128;

    private readonly Lock _gate = new();
    private double _jobMs = double.NaN;
    private double _roundTripMs = double.NaN;

    /// <summary>The most claims ever held at once.</summary>
    public int Capacity => workers * MaxPerWorker;

    /// <summary>Claims to hold now, from the moving averages of job time and round trip.</summary>
    public int Target
    {
        get
        {
            lock (_gate)
            {
                if (double.IsNaN(_jobMs) || double.IsNaN(_roundTripMs))
                    return workers * MinPerWorker;
                // One job in hand, plus those done while a claim and a write are on their way.
                var perWorker = 1 + Math.Ceiling(2 * _roundTripMs / Math.Max(_jobMs, 0.001));
                return workers * (int)Math.Clamp(perWorker, MinPerWorker, MaxPerWorker);
            }
        }
    }

    public void JobTook(TimeSpan elapsed)
    {
        lock (_gate)
            _jobMs = Average(_jobMs, elapsed.TotalMilliseconds);
    }

    public void RoundTripTook(TimeSpan elapsed)
    {
        lock (_gate)
            _roundTripMs = Average(_roundTripMs, elapsed.TotalMilliseconds);
    }

    private static double Average(double current, double sample) => double.IsNaN(current) ? sample : (current * 0.9) + (sample * 0.1);
}
