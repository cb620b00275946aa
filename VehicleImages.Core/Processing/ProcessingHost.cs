using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Processing;

/// <summary>
/// The in-process worker pool: a claimer takes due jobs from PostgreSQL in batches and hands them
/// to Processing:Workers workers through a bounded Channel; every claim's lease is renewed until its
/// result is written. A worker hands its result to the <see cref="CompletionWriter"/> and takes its
/// next job while the write is on its way, so neither stage waits on the other's round trip. A
/// maintenance loop (on every instance, workers or not) rescues expired claims, sweeps
/// for images that were never queued, and prunes finished jobs. On shutdown every unfinished claim
/// goes back at once.
/// </summary>
public sealed class ProcessingHost(
    JobQueue queue,
    CompletionWriter completions,
    IImageAnalyzer analyzer,
    RetryPolicy retry,
    ProviderThrottle throttle,
    AlertService alerts,
    WakeSignal wake,
    NpgsqlDataSource db,
    IOptions<ProcessingOptions> options,
    ILogger<ProcessingHost> logger) : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan PruneAge = TimeSpan.FromDays(1);

    private readonly ConcurrentDictionary<Task, byte> _writes = new();
    private readonly ClaimReserve _reserve = new(options.Value.Workers);
    private int _busy;

    /// <summary>Unique per process start: a restarted process never mistakes an old claim for its own.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = options.Value.Workers;
        var tasks = new List<Task> { MaintainAsync(stoppingToken) };
        Channel<Leased>? channel = null;
        if (workers > 0)
        {
            // Claims held in reserve behind the working ones, as many as hide the round trips (see
            // ClaimReserve). Every claim's lease is renewed from the moment it is claimed, waiting or
            // working, so none expires in the queue.
            channel = Channel.CreateBounded<Leased>(new BoundedChannelOptions(_reserve.Capacity) { SingleWriter = true });
            tasks.Add(ClaimAsync(channel.Writer, stoppingToken));
            tasks.AddRange(Enumerable.Range(0, workers).Select(_ => WorkAsync(channel.Reader, stoppingToken)));
            logger.LogInformation("Processing with {Workers} workers as {Owner}", workers, Owner);
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Results already handed to the writer are written (or dropped by their fence) before the
        // claims still held go back in StopAsync; claims no worker took stop renewing their leases.
        await Task.WhenAll(_writes.Keys);
        while (channel?.Reader.TryRead(out var waiting) == true)
            await waiting.DisposeAsync();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            var released = await queue.ReleaseAllAsync(Owner, cancellationToken);
            if (released > 0)
                logger.LogInformation("Handed {Count} unfinished claims back to the queue", released);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            // Their leases expire and the rescuer returns them.
            logger.LogWarning("Could not hand claims back at shutdown ({Message}); their leases will expire", e.Message);
        }
    }

    private async Task ClaimAsync(ChannelWriter<Leased> writer, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = _reserve.Target - Volatile.Read(ref _busy);
            var wait = PollInterval;
            if (throttle.PausedFor is { } paused && paused > TimeSpan.Zero)
            {
                // The provider asked us to wait: claiming now would only hold jobs idle.
                wait = paused < PollInterval ? paused : PollInterval;
            }
            else if (free > 0)
            {
                IReadOnlyList<JobClaim> claims;
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    claims = await queue.ClaimAsync(Owner, free, Lease, stoppingToken);
                    _reserve.RoundTripTook(Stopwatch.GetElapsedTime(started));
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("Claiming jobs failed ({Message}); trying again shortly", e.Message);
                    claims = [];
                }

                foreach (var claim in claims)
                {
                    Interlocked.Increment(ref _busy);
                    await writer.WriteAsync(new Leased(claim, this, stoppingToken), stoppingToken);
                }

                if (claims.Count == free)
                    continue; // there may be more due right now
            }

            await wake.WaitAsync(wait, stoppingToken);
        }
    }

    private async Task WorkAsync(ChannelReader<Leased> reader, CancellationToken stoppingToken)
    {
        await foreach (var leased in reader.ReadAllAsync(stoppingToken))
        {
            AnalysisResult? result = null;
            try
            {
                var started = Stopwatch.GetTimestamp();
                result = await ProcessAsync(leased.Claim, leased.Lost, stoppingToken);
                _reserve.JobTook(Stopwatch.GetElapsedTime(started));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // StopAsync hands the claim back
            }
            catch (Exception e)
            {
                // The database went away mid-bookkeeping: the lease runs out and the rescuer retries.
                logger.LogError(e, "Bookkeeping for job {Job} failed; its lease will expire and it will be retried", leased.Claim.JobId);
            }
            finally
            {
                if (result is null)
                    await DoneAsync(leased);
                else
                    Track(FinishAsync(leased, result));
            }
        }
    }

    /// <summary>
    /// Hands the result to the writer and, once it is written, frees the slot; the lease is renewed
    /// until then. A result the database refuses (a value out of range, say) is a failed attempt with
    /// its reason, retried like any other, not a lease left to expire.
    /// </summary>
    private async Task FinishAsync(Leased leased, AnalysisResult result)
    {
        var claim = leased.Claim;
        try
        {
            try
            {
                if (!await completions.CompleteAsync(new Completion(claim, Owner, result)))
                    logger.LogWarning("Job {Job} attempt {Attempt} finished after its claim was lost; the result was dropped", claim.JobId, claim.Attempt);
            }
            catch (Exception e) when (DatabaseErrors.IsDataError(e))
            {
                await FailAsync(claim, "the database refused the result: " + DatabaseErrors.MessageText(e), permanent: false, result.TierReached);
            }
        }
        catch (Exception e)
        {
            // The database went away: the lease runs out and the rescuer retries.
            logger.LogError(e, "Writing the result of job {Job} failed; its lease will expire and it will be retried", claim.JobId);
        }
        finally
        {
            await DoneAsync(leased);
        }
    }

    private async Task DoneAsync(Leased leased)
    {
        await leased.DisposeAsync();
        Interlocked.Decrement(ref _busy);
        wake.Set();
    }

    private void Track(Task write)
    {
        _writes.TryAdd(write, 0);
        _ = write.ContinueWith(t => _writes.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Analyzes the claimed image; its result to write, or null when there is none (failed, released, lost, deleted).</summary>
    private async Task<AnalysisResult?> ProcessAsync(JobClaim claim, CancellationTokenSource lost, CancellationToken stoppingToken)
    {
        var tierReached = 0;
        try
        {
            var image = claim.Image is { } claimed ? Request(claim.ImageId, claimed) : await LoadAsync(claim.ImageId, stoppingToken);
            if (image is null)
                return null; // deleted meanwhile; its job went with it

            var request = image with
            {
                SaveTierAsync = async (key, value, ct) =>
                {
                    if (!await queue.SaveTierAsync(claim, Owner, key, value, ct))
                        throw new ClaimLostException();
                    tierReached = Math.Max(tierReached, TierNumber(key));
                },
            };
            return await analyzer.AnalyzeAsync(request, lost.Token);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is ClaimLostException || (e is OperationCanceledException && lost.IsCancellationRequested))
        {
            logger.LogWarning("Job {Job} attempt {Attempt} lost its claim; its work was dropped", claim.JobId, claim.Attempt);
        }
        catch (AnalysisException e) when (e.Failure == AnalysisFailure.RateLimited)
        {
            var after = e.RetryAfter ?? TimeSpan.FromSeconds(30);
            throttle.PauseFor(after);
            await queue.ReleaseAsync(claim, Owner, after, CancellationToken.None);
            logger.LogInformation("Provider rate limit: every worker waits {Delay}; job {Job} keeps its attempts", after, claim.JobId);
        }
        catch (AnalysisException e)
        {
            await FailAsync(claim, e.Message, e.Failure == AnalysisFailure.Permanent, tierReached);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await FailAsync(claim, "unexpected error: " + e.Message, permanent: false, tierReached);
        }

        return null;
    }

    /// <summary>A claim with its lease being renewed, from the claim until the worker is done with it.</summary>
    private sealed class Leased : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _heartbeat;

        public Leased(JobClaim claim, ProcessingHost host, CancellationToken stoppingToken)
        {
            Claim = claim;
            Lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            _heartbeat = host.HeartbeatAsync(claim, Lost, _stop.Token);
        }

        public JobClaim Claim { get; }

        /// <summary>Cancelled when the claim is lost (a renewal found it taken) or the host stops.</summary>
        public CancellationTokenSource Lost { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _heartbeat;
            _stop.Dispose();
            Lost.Dispose();
        }
    }

    private async Task FailAsync(JobClaim claim, string error, bool permanent, int tierReached)
    {
        var final = await queue.FailAsync(claim, Owner, error, permanent, retry.MaxAttempts, retry.Delay(claim.Attempt), tierReached, CancellationToken.None);
        if (final != true)
            return;
        var fileName = (await LoadAsync(claim.ImageId, CancellationToken.None))?.FileName ?? claim.ImageId.ToString();
        await alerts.ImageFailedAsync(claim.ImageId, fileName, error, CancellationToken.None);
    }

    private async Task HeartbeatAsync(JobClaim claim, CancellationTokenSource lost, CancellationToken stop)
    {
        try
        {
            using var timer = new PeriodicTimer(Lease / 3);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    if (!await queue.HeartbeatAsync(claim, Owner, Lease, stop))
                    {
                        await lost.CancelAsync();
                        return;
                    }
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("Lease renewal for job {Job} failed ({Message})", claim.JobId, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        var nextSweep = DateTimeOffset.MinValue;
        var nextPrune = DateTimeOffset.UtcNow.AddMinutes(1);
        var every = TimeSpan.FromSeconds(Math.Clamp(options.Value.LeaseSeconds / 4, 1, 10));
        using var timer = new PeriodicTimer(every);
        do
        {
            try
            {
                foreach (var failed in await queue.RescueExpiredAsync(retry.MaxAttempts, n => retry.Delay(n), stoppingToken))
                    await alerts.ImageFailedAsync(failed.ImageId, failed.FileName, failed.Error, stoppingToken);
                if (DateTimeOffset.UtcNow >= nextSweep)
                {
                    var queued = await queue.BackfillAsync(stoppingToken);
                    if (queued > 0)
                        logger.LogInformation("Queued {Count} images that had no analysis and no job", queued);
                    nextSweep = DateTimeOffset.UtcNow + SweepInterval;
                }

                if (DateTimeOffset.UtcNow >= nextPrune)
                {
                    await queue.PruneAsync(PruneAge, stoppingToken);
                    nextPrune = DateTimeOffset.UtcNow.AddMinutes(10);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Queue maintenance failed ({Message}); it runs again shortly", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<AnalysisRequest?> LoadAsync(Guid imageId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(
            "SELECT file_name, width, height, variants::text, ai_scan_metadata::text FROM vehicle_images WHERE id = @id");
        cmd.Parameters.AddWithValue("id", imageId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return Request(imageId, new ClaimedImage(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt32(1),
            reader.IsDBNull(2) ? null : reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4)));
    }

    private static AnalysisRequest Request(Guid imageId, ClaimedImage image) => new(
        imageId, image.FileName, image.Width, image.Height, VariantSet.FromJson(image.Variants),
        image.Metadata is null ? null : JsonNode.Parse(image.Metadata) as JsonObject,
        (_, _, _) => Task.CompletedTask);

    private static int TierNumber(string key) => key switch
    {
        "tier_1_analysis" => 1,
        "tier_2_analysis" => 2,
        "tier_3_analysis" => 3,
        _ => 0,
    };

    private sealed class ClaimLostException() : Exception("the claim on this job was lost");
}
