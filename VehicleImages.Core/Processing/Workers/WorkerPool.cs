using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Processing.Workers;

/// <summary>
/// Processing:Workers workers reading claims from the Channel. A worker analyzes the photo and ends
/// the claim by its outcome: a result goes to the <see cref="CompletionWriter"/> while the worker takes
/// its next claim; an analysis error fails the attempt (retried on the schedule or failed for good,
/// which alerts the admins); a 429, or an outage of every provider, gives the attempt back and the
/// photo waits.
/// </summary>
public sealed class WorkerPool(IImageAnalyzer analyzer, LocalSteps localSteps, Embeddings.StackedAnalysis stacked, AlertService alerts, WakeSignal wake,
    IOptions<ProcessingOptions> options, ILogger<WorkerPool> logger)
{
    /// <summary>How long a photo whose bytes the store could not give waits before it is claimed again.</summary>
    internal static TimeSpan StoreOutageDelay { get; set; } = TimeSpan.FromSeconds(10);

    public const string UnexpectedError = "unexpected error while analyzing; the details are in the server log";

    private readonly ConcurrentDictionary<Task, byte> _writes = new();
    private int _held;

    public int Workers => options.Value.Workers;

    public ClaimReserve Reserve { get; } = new(options.Value.Workers);

    /// <summary>How many more claims the claimer may take now: the reserve's target less those held (waiting, working or being written).</summary>
    public int FreeSlots => Reserve.Target - Volatile.Read(ref _held);

    /// <summary>
    /// Reserves up to <paramref name="wanted"/> of the free slots for a claim on its way (several claim
    /// statements can be in flight at once, so the slots are taken before the claim, not after it).
    /// </summary>
    internal int TakeSlots(int wanted)
    {
        while (true)
        {
            var held = Volatile.Read(ref _held);
            var take = Math.Min(wanted, Reserve.Target - held);
            if (take <= 0)
                return 0;
            if (Interlocked.CompareExchange(ref _held, held + take, held) == held)
                return take;
        }
    }

    /// <summary>Gives back reserved slots the claim did not fill.</summary>
    internal void ReturnSlots(int slots) => Interlocked.Add(ref _held, -slots);

    public Task RunAsync(ChannelReader<JobClaim> claims, CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => WorkAsync(claims, stoppingToken)));

    /// <summary>Waits for results already handed to the writer (written, or dropped by their fence).</summary>
    public Task WritesDoneAsync() => Task.WhenAll(_writes.Keys);

    private async Task WorkAsync(ChannelReader<JobClaim> claims, CancellationToken stoppingToken)
    {
        await foreach (var claim in claims.ReadAllAsync(stoppingToken))
        {
            AnalysisResult? result = null;
            try
            {
                var started = Stopwatch.GetTimestamp();
                result = await AnalyzeAsync(claim, stoppingToken);
                Reserve.JobTook(Stopwatch.GetElapsedTime(started));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // disposing the claim hands it back
            }
            catch (Exception e)
            {
                claim.Abandon();
                logger.LogError(e, "Bookkeeping for job {Job} failed; its lease will expire and it will be retried", claim.JobId);
            }
            finally
            {
                if (result is null)
                    await DoneAsync(claim);
                else
                    Track(FinishAsync(claim, result));
            }
        }
    }

    /// <summary>Analyzes the claimed photo; its result to write, or null when the claim already ended (failed, released, lost).</summary>
    private async Task<AnalysisResult?> AnalyzeAsync(JobClaim claim, CancellationToken stoppingToken)
    {
        // Continues the upload's trace across the queue (its traceparent is on the job row).
        System.Diagnostics.ActivityContext.TryParse(claim.TraceParent, null, out var parent);
        using var activity = Observability.Telemetry.Source.StartActivity("analyze photo", System.Diagnostics.ActivityKind.Consumer, parent);
        activity?.SetTag("vehicleimages.image_id", claim.ImageId);
        activity?.SetTag("vehicleimages.attempt", claim.Attempt);
        claim.Trace = activity?.Context ?? default;
        try
        {
            var request = claim.ToRequest();
            await localSteps.RunAsync(request, claim.Lost);
            // With Analysis:AnalyzeStackedPhotos off, a photo stacked behind an analysed best takes its answer, no call.
            return await stacked.InheritedAsync(request, claim.Lost) ?? await analyzer.AnalyzeAsync(request, claim, claim.Lost);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is ClaimLostException || (e is OperationCanceledException && claim.Lost.IsCancellationRequested))
        {
            claim.Abandon();
            logger.LogWarning("Job {Job} attempt {Attempt} lost its claim; its work was dropped", claim.JobId, claim.Attempt);
        }
        catch (AnalysisException e) when (e.Failure == AnalysisFailure.RateLimited)
        {
            var after = e.RetryAfter ?? TimeSpan.FromSeconds(30);
            await claim.ReleaseAsync(after);
            Finished("released");
            logger.LogInformation("Provider rate limit: every worker waits {Delay}; job {Job} keeps its attempts", after, claim.JobId);
        }
        catch (AnalysisException e) when (e.Failure == AnalysisFailure.Deferred)
        {
            // Its stack's best is being analysed: it waits for that answer instead of paying twice.
            await claim.ReleaseAsync(e.RetryAfter ?? TimeSpan.FromSeconds(2));
            Finished("released");
            logger.LogDebug("Job {Job} {Reason}; it keeps its attempts", claim.JobId, e.Message);
        }
        catch (AnalysisException e) when (e.Failure == AnalysisFailure.Unavailable)
        {
            // The claimer stops claiming until a provider is back; the photo waits with its attempts.
            await claim.ReleaseAsync(TimeSpan.Zero);
            Finished("released");
            logger.LogInformation("No analysis provider is available; job {Job} waits with its attempts", claim.JobId);
        }
        catch (Storage.StoreUnavailableException e)
        {
            // The photo store's outage is not the photo's fault: it waits with its attempts and is tried again shortly.
            await claim.ReleaseAsync(StoreOutageDelay);
            Finished("released");
            logger.LogWarning("Job {Job} waits {Delay} with its attempts: {Reason}", claim.JobId, StoreOutageDelay, e.Message);
        }
        catch (AnalysisException e)
        {
            await FailAsync(claim, e.Message, e.Failure == AnalysisFailure.Permanent, e.IsOutage ? e.Provider : null, e.Provider, e.Model);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The owner sees the error: an exception's own message can name server paths, so it stays in the log.
            logger.LogError(e, "Job {Job} attempt {Attempt} failed unexpectedly", claim.JobId, claim.Attempt);
            await FailAsync(claim, UnexpectedError, permanent: false);
        }

        return null;
    }

    /// <summary>
    /// Writes the result and, once it is written, frees the slot; the lease is renewed until then. A
    /// result the database refuses (a value out of range, say) is a failed attempt with its reason,
    /// retried like any other, not a lease left to expire.
    /// </summary>
    private async Task FinishAsync(JobClaim claim, AnalysisResult result)
    {
        using var activity = Observability.Telemetry.Source.StartActivity("write result", System.Diagnostics.ActivityKind.Internal, claim.Trace);
        try
        {
            try
            {
                if (await claim.CompleteAsync(result))
                    Finished("complete");
                else
                    logger.LogWarning("Job {Job} attempt {Attempt} finished after its claim was lost; the result was dropped", claim.JobId, claim.Attempt);
            }
            catch (Exception e) when (DatabaseErrors.IsDataError(e))
            {
                await FailAsync(claim, "the database refused the result: " + DatabaseErrors.MessageText(e), permanent: false,
                    provider: result.Usage?.Provider, model: result.Usage?.Model);
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Writing the result of job {Job} failed; its lease will expire and it will be retried", claim.JobId);
        }
        finally
        {
            await DoneAsync(claim);
        }
    }

    private async Task FailAsync(JobClaim claim, string error, bool permanent, string? outageOf = null, string? provider = null, string? model = null)
    {
        var outcome = await claim.FailAsync(error, permanent, outageOf, provider, model);
        if (outcome is not null)
            Finished(outcome.Final ? "failed" : "retry");
        if (outcome is { Final: true } failed)
            await alerts.ImageFailedAsync(claim.ImageId, failed.FileName, error, CancellationToken.None);
    }

    private static void Finished(string outcome) => Observability.Telemetry.JobsFinished.Add(1, Observability.Telemetry.Tag("outcome", outcome));

    private async Task DoneAsync(JobClaim claim)
    {
        await claim.DisposeAsync();
        Interlocked.Decrement(ref _held);
        wake.Set();
    }

    private void Track(Task write)
    {
        _writes.TryAdd(write, 0);
        _ = write.ContinueWith(t => _writes.TryRemove(t, out _), TaskScheduler.Default);
    }
}
