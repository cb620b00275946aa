using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Workers;

/// <summary>
/// Runs the <see cref="Claimer"/> and the <see cref="WorkerPool"/> joined by a bounded Channel, and
/// hands every claim of this process back at shutdown. With Processing:Workers=0 (a pages-only
/// instance) it does nothing; the maintenance chores run on every instance either way.
/// </summary>
public sealed class ProcessingHost(JobQueue queue, Claimer claimer, WorkerPool pool, ILogger<ProcessingHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (pool.Workers == 0)
            return;
        var channel = Channel.CreateBounded<JobClaim>(new BoundedChannelOptions(pool.Reserve.Capacity) { SingleWriter = Claimer.ClaimsInFlight <= 1 });
        logger.LogInformation("Processing with {Workers} workers as {Owner}", pool.Workers, queue.Owner.Name);
        try
        {
            await Task.WhenAll(claimer.RunAsync(channel.Writer, pool, stoppingToken), pool.RunAsync(channel.Reader, stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Results already handed to the writer are written (or dropped by their fence) first; claims
        // no worker took go back now, their attempts refunded.
        await pool.WritesDoneAsync();
        while (channel.Reader.TryRead(out var waiting))
            await waiting.DisposeAsync();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // Anything a claim could not hand back itself (a worker that was mid-statement).
            var released = await queue.HandBackAllAsync(cancellationToken);
            if (released > 0)
                logger.LogInformation("Handed {Count} unfinished claims back to the queue", released);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            logger.LogWarning("Could not hand claims back at shutdown ({Message}); their leases will expire", e.Message);
        }
    }
}
