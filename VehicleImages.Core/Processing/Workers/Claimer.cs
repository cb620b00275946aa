using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Analysis;

namespace VehicleImages.Core.Processing;

/// <summary>
/// Takes due jobs from PostgreSQL in batches, as many as the pool's <see cref="ClaimReserve"/> asks
/// for, starts each claim's lease renewal, and hands the claims to the workers. It sleeps until a new
/// job, a finished worker, a resume or a provider's recovery wakes it, or the fallback poll. It asks
/// the <see cref="IAnalysisGate"/> first: while the provider asked us to wait (429) or no provider is
/// available (an outage) it claims nothing, since claims would only sit idle or be handed back —
/// except one photo when a provider is due to be probed.
/// </summary>
public sealed class Claimer(JobQueue queue, IAnalysisGate gate, WakeSignal wake, ILogger<Claimer> logger)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public async Task RunAsync(ChannelWriter<JobClaim> workers, WorkerPool pool, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = pool.FreeSlots;
            var wait = PollInterval;
            if (free > 0)
            {
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

                (free, wait) = (permit.Count, permit.Wait);
            }

            if (free > 0)
            {
                IReadOnlyList<JobClaim> claims;
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    claims = await queue.ClaimAsync(free, stoppingToken);
                    pool.Reserve.RoundTripTook(Stopwatch.GetElapsedTime(started));
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("Claiming jobs failed ({Message}); trying again shortly", e.Message);
                    claims = [];
                }

                foreach (var claim in claims)
                {
                    // Renewed from the moment it is claimed, waiting or working, so none expires in the Channel.
                    claim.KeepAlive(stoppingToken);
                    pool.Taken();
                    await workers.WriteAsync(claim, stoppingToken);
                }

                if (claims.Count == free)
                    continue; // there may be more due right now
            }

            await wake.WaitAsync(wait, stoppingToken);
        }
    }
}
