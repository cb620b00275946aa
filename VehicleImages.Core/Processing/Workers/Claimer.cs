using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Workers;

/// <summary>
/// Takes due jobs from PostgreSQL in batches, as many as the pool's <see cref="ClaimReserve"/> asks
/// for, starts each claim's lease renewal, and hands the claims to the workers. It sleeps until a new
/// job, a finished worker, a resume or a provider's recovery wakes it, or the fallback poll. It asks
/// the <see cref="IAnalysisGate"/> first: while the provider asked us to wait (429) or no provider is
/// available (an outage) it claims nothing, since claims would only sit idle or be handed back (a
/// provider is probed with the app's own image, never a claimed photo). Up to <see cref="ClaimsInFlight"/>
/// loops claim at once, each into slots it reserved from the pool first, so a fast drain keeps more
/// than one backend busy (ADR 015).
/// </summary>
public sealed class Claimer(JobQueue queue, IAnalysisGate gate, WakeSignal wake, ILogger<Claimer> logger)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many claim statements may be in flight at once, each into slots it reserved first. One
    /// claim and one completion in flight kept a single backend busy on each side while the batching
    /// bare table kept four; two of each, with a larger reserve, drained 2–2.4× faster (docs/performance.md,
    /// "Third pass"). Settable for the benchmark's queue-settings figure.
    /// </summary>
    public static int ClaimsInFlight { get; set; } = 2;

    /// <summary>A second claim in flight goes only for at least this many free slots, so batches stay large.</summary>
    public static int MinConcurrentClaim { get; set; } = 8;

    private int _inFlight;

    public Task RunAsync(ChannelWriter<JobClaim> workers, WorkerPool pool, CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, ClaimsInFlight)).Select(_ => LoopAsync(workers, pool, stoppingToken)));

    private async Task LoopAsync(ChannelWriter<JobClaim> workers, WorkerPool pool, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var (claims, reserved, wait) = await ClaimOnceAsync(pool, stoppingToken);
            foreach (var claim in claims)
            {
                // Renewed from the moment it is claimed, waiting or working, so none expires in the Channel.
                claim.KeepAlive(stoppingToken);
                await workers.WriteAsync(claim, stoppingToken);
            }

            if (reserved > 0 && claims.Count == reserved)
                continue; // there may be more due right now

            await wake.WaitAsync(wait, stoppingToken);
        }
    }

    /// <summary>
    /// One claim statement, when this loop may make one now: the jobs it claimed, the slots it had
    /// reserved for them (those it did not fill are given back), and how long to wait when it got fewer.
    /// </summary>
    private async Task<(IReadOnlyList<JobClaim> Claims, int Reserved, TimeSpan Wait)> ClaimOnceAsync(WorkerPool pool, CancellationToken stoppingToken)
    {
        var free = pool.FreeSlots;
        if (free <= 0)
            return ([], 0, PollInterval);

        // A claim while another is on its way only for a batch's worth: the second loop adds a
        // statement in flight, not many small ones.
        var alone = Interlocked.Increment(ref _inFlight) == 1;
        try
        {
            if (!alone && free < MinConcurrentClaim)
                return ([], 0, PollInterval);

            ClaimPermit permit;
            try
            {
                permit = await gate.PermitAsync(free, PollInterval, stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Reading the providers' state failed ({Message}); trying again shortly", e.Message);
                permit = new ClaimPermit(0, PollInterval);
            }

            var reserved = alone || permit.Count >= MinConcurrentClaim ? pool.TakeSlots(permit.Count) : 0;
            if (reserved == 0)
                return ([], 0, permit.Wait);

            IReadOnlyList<JobClaim> claims = [];
            try
            {
                var started = Stopwatch.GetTimestamp();
                claims = await queue.ClaimAsync(reserved, stoppingToken);
                pool.Reserve.RoundTripTook(Stopwatch.GetElapsedTime(started));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Claiming jobs failed ({Message}); trying again shortly", e.Message);
            }
            finally
            {
                pool.ReturnSlots(reserved - claims.Count);
            }

            return (claims, reserved, permit.Wait);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
