using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>
/// Renews the leases of every claim a <see cref="JobQueue"/> holds in one statement per third of the
/// lease (River's and graphile-worker's shape), instead of a timer and a statement per claim. Each
/// renewal is fenced like any other write (id, status, owner, attempt); a claim the statement did not
/// renew was lost (rescued, or taken by someone else) and is told so through <see cref="JobClaim.Lost"/>.
/// The loop runs while claims are held and stops when none are.
/// </summary>
internal sealed class LeaseKeeper(NpgsqlDataSource db, QueueOwner owner, ILogger logger)
{
    private readonly ConcurrentDictionary<JobClaim, byte> _held = new();
    private readonly Lock _gate = new();
    private bool _running;

    public int Held => _held.Count;

    public void Hold(JobClaim claim)
    {
        // Added before the loop's emptiness check can run under the gate: a loop that saw it empty has
        // already cleared _running, so this starts a new one.
        _held.TryAdd(claim, 0);
        lock (_gate)
        {
            if (_running)
                return;
            _running = true;
        }

        _ = Task.Run(RunAsync);
    }

    public void Release(JobClaim claim) => _held.TryRemove(claim, out _);

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(owner.Lease / 3);
        while (await timer.WaitForNextTickAsync())
        {
            lock (_gate)
            {
                if (_held.IsEmpty)
                {
                    _running = false;
                    return;
                }
            }

            try
            {
                await RenewAsync([.. _held.Keys]);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Renewing the leases of {Count} claims failed ({Message})", _held.Count, e.Message);
            }
        }
    }

    /// <summary>Extends the lease of every claim given that is still ours; the others are told they were lost.</summary>
    public async Task RenewAsync(IReadOnlyList<JobClaim> claims)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE image_processing_jobs j SET lease_until = now() + @lease
            FROM unnest(@jobs, @attempts) AS c(job, attempt)
            WHERE j.id = c.job AND j.locked_by = @owner AND j.attempt = c.attempt -- the fence (see ClaimStatements.Fence)
            RETURNING j.id
            """);
        cmd.Parameters.AddWithValue("lease", owner.Lease);
        cmd.Parameters.AddWithValue("owner", owner.Name);
        cmd.Parameters.AddWithValue("jobs", claims.Select(c => c.JobId).ToArray());
        cmd.Parameters.AddWithValue("attempts", claims.Select(c => c.Attempt).ToArray());
        var renewed = new HashSet<long>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                renewed.Add(reader.GetInt64(0));
        foreach (var claim in claims)
            if (!renewed.Contains(claim.JobId))
                await claim.LostAsync();
    }
}
