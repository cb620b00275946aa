using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Processing.Queue;

/// <summary>What fences every write for a claim: the job, who holds it, and which attempt.</summary>
public sealed record ClaimKey(long JobId, Guid ImageId, int Attempt, string Owner, DateTimeOffset StartedAt);

/// <summary>What a worker needs of the image, read in the claiming statement itself (no second round trip).</summary>
public sealed record ClaimedImage(string FileName, int? Width, int? Height, string? Variants, string? Metadata);

/// <summary>How a failed attempt ended: null when the claim had been lost; otherwise whether it is now failed for good.</summary>
public sealed record FailOutcome(bool Final, string FileName);

/// <summary>
/// One claimed job, held by this process (Hangfire's PostgreSqlFetchedJob is the model). It renews
/// its own lease until it is disposed (<see cref="KeepAlive"/>), saves tier answers
/// (<see cref="ITierResults"/>), and ends exactly one way: complete, fail (scheduled again by the
/// <see cref="RetrySchedule"/> or failed for good), release (a 429: the attempt is given back), or
/// abandon (its lease is left to expire, for the rescuer). Disposing a claim that none of these
/// ended — a shutdown, a claim no worker took — hands it back at once with its attempt refunded.
/// Every write is fenced by <see cref="Key"/>: once the claim is lost, nothing it says changes anything.
/// </summary>
public sealed class JobClaim : ITierResults, IAsyncDisposable
{
    private readonly ClaimStatements _sql;
    private readonly CompletionWriter _writer;
    private readonly RetrySchedule _retry;
    private readonly TimeSpan _lease;
    private readonly ILogger _logger;
    private readonly LeaseKeeper _keeper;
    private CancellationTokenSource _lost = new();
    private bool _kept;
    private int _ended;

    internal JobClaim(ClaimKey key, ClaimedImage image, TimeSpan lease, ClaimStatements sql, CompletionWriter writer, RetrySchedule retry,
        LeaseKeeper keeper, ILogger logger)
    {
        _keeper = keeper;
        Key = key;
        Image = image;
        _lease = lease;
        _sql = sql;
        _writer = writer;
        _retry = retry;
        _logger = logger;
    }

    public ClaimKey Key { get; }

    public ClaimedImage Image { get; }

    public long JobId => Key.JobId;

    public Guid ImageId => Key.ImageId;

    public int Attempt => Key.Attempt;

    /// <summary>The upload's trace, when it was recorded: the analysis continues it.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The span of this attempt's analysis, for the spans that follow it (the result's write).</summary>
    public System.Diagnostics.ActivityContext Trace { get; set; }

    /// <summary>The highest tier whose answer this attempt saved.</summary>
    public int TierReached { get; private set; }

    /// <summary>Cancelled when a renewal finds the claim taken by someone else, or when the host stops.</summary>
    public CancellationToken Lost => _lost.Token;

    public AnalysisRequest ToRequest() => new(ImageId, Image.FileName, Image.Width, Image.Height, VariantSet.FromJson(Image.Variants),
        Image.Metadata is null ? null : JsonNode.Parse(Image.Metadata) as JsonObject);

    /// <summary>
    /// Has the lease renewed every third of it, from now until the claim is disposed: by its queue's
    /// <see cref="LeaseKeeper"/>, one statement for every claim the queue holds.
    /// </summary>
    public void KeepAlive(CancellationToken stopping)
    {
        _lost.Dispose();
        _lost = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _kept = true;
        _keeper.Hold(this);
    }

    /// <summary>A renewal found the claim no longer ours.</summary>
    internal Task LostAsync()
    {
        _keeper.Release(this);
        try
        {
            return _lost.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            return Task.CompletedTask; // disposed meanwhile: nobody is listening
        }
    }

    /// <summary>Extends the lease once; false when the claim is no longer ours.</summary>
    public Task<bool> RenewAsync(CancellationToken cancellationToken) => _sql.RenewAsync(Key, _lease, cancellationToken);

    public async Task SaveAsync(Tier tier, JsonObject answer, JsonObject? usage, CancellationToken cancellationToken)
    {
        if (!await _sql.SaveTierAsync(Key, tier, answer, usage, cancellationToken))
            throw new ClaimLostException();
        TierReached = Math.Max(TierReached, tier.Number());
    }

    /// <summary>Writes the result (with others that finish meanwhile); false when the claim was lost and nothing was written.</summary>
    public Task<bool> CompleteAsync(AnalysisResult result)
    {
        End();
        return _writer.CompleteAsync(new Completion(Key, result));
    }

    /// <summary>
    /// Ends a failed attempt: back to pending after the retry schedule's delay, or failed when the
    /// error is permanent or the attempts are spent. Null when the claim was lost. <paramref name="outageOf"/>
    /// names the provider when the error was its outage, so the attempt can be given back if that
    /// outage is then recognised (see ProviderHealth). <paramref name="provider"/> and <paramref name="model"/>
    /// name who was asked (and answered, when there was an answer), for the attempt's history row.
    /// </summary>
    public Task<FailOutcome?> FailAsync(string error, bool permanent, string? outageOf = null, string? provider = null, string? model = null)
    {
        End();
        var final = _retry.IsFinal(Attempt, permanent);
        return _sql.FailAsync(Key, error, final, final ? TimeSpan.Zero : _retry.Delay(Attempt), TierReached, outageOf, provider, model,
            CancellationToken.None);
    }

    /// <summary>A 429: the job goes back without spending its attempt and waits as long as the provider asked.</summary>
    public Task<bool> ReleaseAsync(TimeSpan after)
    {
        End();
        return _sql.ReleaseAsync(Key, after, CancellationToken.None);
    }

    /// <summary>The bookkeeping failed (the database went away): leave the lease to expire and the rescuer to count the attempt.</summary>
    public void Abandon() => End();

    public async ValueTask DisposeAsync()
    {
        if (_kept)
            _keeper.Release(this);

        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            try
            {
                await _sql.ReleaseAsync(Key, TimeSpan.Zero, CancellationToken.None);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                _logger.LogWarning("Could not hand job {Job} back ({Message}); its lease will expire", JobId, e.Message);
            }
        }

        _lost.Dispose();
    }

    private void End() => Interlocked.Exchange(ref _ended, 1);
}

/// <summary>A write for a claim found it taken by someone else (its lease expired and it was rescued).</summary>
public sealed class ClaimLostException() : Exception("the claim on this job was lost");
