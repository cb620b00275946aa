using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Core.Analysis;

/// <summary>How many claims the claimer may take now, and how long to sleep when none.</summary>
public readonly record struct ClaimPermit(int Count, TimeSpan Wait);

/// <summary>A provider as the admin page and API show it.</summary>
public sealed record ProviderView(string Name, string Model, string State, DateTimeOffset? Since, string? LastError)
{
    /// <summary>Calls and tokens this provider answered, over every photo (filled in by the admin API).</summary>
    public long Calls { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
}

/// <summary>What the claimer asks before claiming: is there anything to analyze with, right now?</summary>
public interface IAnalysisGate
{
    Task<ClaimPermit> PermitAsync(int free, TimeSpan poll, CancellationToken cancellationToken);

    /// <summary>Every provider in order, with its shared state read now.</summary>
    Task<IReadOnlyList<ProviderView>> ProvidersAsync(CancellationToken cancellationToken);

    /// <summary>Why photos wait, for people, or null when they do not (e.g. "the analysis service is unavailable since 14:02").</summary>
    DateTimeOffset? UnavailableSince { get; }
}

/// <summary>The built-in analyzer is always there.</summary>
public sealed class AlwaysOpenGate : IAnalysisGate
{
    public Task<ClaimPermit> PermitAsync(int free, TimeSpan poll, CancellationToken cancellationToken) => Task.FromResult(new ClaimPermit(free, poll));

    public Task<IReadOnlyList<ProviderView>> ProvidersAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ProviderView>>([new(LocalAnalyzer.ProviderName, LocalAnalyzer.ModelName, Processing.ProviderStates.Available, null, null)]);

    public DateTimeOffset? UnavailableSince => null;
}

/// <summary>
/// The OpenAI-compatible providers in order (Analysis:Endpoint, then Analysis:Fallbacks): each call
/// goes to the first one available. A call that fails for a reason that could be the provider's (no
/// answer, a 5xx, a timeout) asks "is the provider down?" before the photo is charged: the database
/// may already say so (another instance found out); otherwise a probe with the app's own tiny image
/// (<see cref="ProbeImage"/>) decides. Down: the provider is marked unavailable (one alert, every
/// instance), the call goes to the next provider, and when none is left the photo waits
/// (<see cref="AnalysisFailure.Unavailable"/>), spending no attempt, and the claimer stops claiming.
/// The probe answers: the failure is the photo's, and its attempt counts. While a provider is
/// unavailable, one probe per Analysis:BreakSeconds across all instances tests it again, with the
/// same tiny image: never with a user's photo.
/// </summary>
public sealed class ProviderChain : IAnalysisGate, IDisposable
{
    private readonly ProviderHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<ProviderChain> _logger;
    private readonly TimeSpan _break;
    private readonly CancellationTokenSource _stopping = new();
    private int _registered;
    private int _disposed;

    public ProviderChain(IOptions<AnalysisOptions> options, IHttpClientFactory http, ProviderHealth health, TimeProvider time,
        ILogger<ProviderChain> logger, ILoggerFactory loggers, Func<ProviderSettings, IVisionClient>? clients = null)
    {
        _health = health;
        _time = time;
        _logger = logger;
        _break = TimeSpan.FromSeconds(options.Value.BreakSeconds);
        Providers = [.. ProviderSettings.Chain(options.Value).Select(s => new VisionProvider(
            s, clients?.Invoke(s) ?? new OpenAiVisionClient(s, http, loggers.CreateLogger<OpenAiVisionClient>()), new ProviderThrottle(s.RequestsPerMinute, time), time))];
        // Learned from another instance that a provider is back: this instance's breaker closes too.
        health.Changed += () =>
        {
            foreach (var p in Providers)
                if (health[p.Name] is { IsAvailable: true } && p.IsBroken)
                    _ = p.CloseAsync();
        };
    }

    public IReadOnlyList<VisionProvider> Providers { get; }

    public DateTimeOffset? UnavailableSince
    {
        get
        {
            var states = Providers.Select(p => _health[p.Name]).ToList();
            if (states.Any(s => s is null || s.IsAvailable))
                return null;
            return states.Min(s => s!.Since);
        }
    }

    public async Task<ClaimPermit> PermitAsync(int free, TimeSpan poll, CancellationToken cancellationToken)
    {
        await EnsureRegisteredAsync(cancellationToken);
        await _health.RefreshIfStaleAsync(cancellationToken);
        var now = _time.GetUtcNow();
        var wait = poll;
        foreach (var p in Providers)
        {
            var state = _health[p.Name];
            if (state is null || state.IsAvailable)
            {
                if (p.IsBroken)
                    continue;
                // The first provider a call would go to asked us to wait (429): claims would only sit idle.
                var paused = p.Throttle.PausedFor;
                return paused > TimeSpan.Zero ? new ClaimPermit(0, paused < poll ? paused : poll) : new ClaimPermit(free, poll);
            }

            // Unavailable: its probe (the app's image, not a claimed photo) runs by itself when due; a
            // success wakes the claimer. Until then, sleep to the next probe or the poll, whichever is first.
            ProbeWhenDue(p, state);
            var untilProbe = state.NextProbeAt - now;
            if (untilProbe > TimeSpan.Zero && untilProbe < wait)
                wait = untilProbe;
        }

        return new ClaimPermit(0, wait);
    }

    public async Task<IReadOnlyList<ProviderView>> ProvidersAsync(CancellationToken cancellationToken)
    {
        await EnsureRegisteredAsync(cancellationToken);
        await _health.RefreshAsync(cancellationToken);
        return [.. Providers.Select(p => _health[p.Name] is { } s
            ? new ProviderView(p.Name, p.Model, s.State, s.Since, s.LastError)
            : new ProviderView(p.Name, p.Model, Processing.ProviderStates.Available, null, null))];
    }

    /// <summary>Asks the first available provider; the answer and who gave it.</summary>
    public async Task<(VisionAnswer Answer, VisionProvider Provider)> AskAsync(Tier tier, byte[] jpeg, CancellationToken cancellationToken)
    {
        await EnsureRegisteredAsync(cancellationToken);
        foreach (var p in Providers)
        {
            var state = _health[p.Name];
            if (state is { IsAvailable: false })
            {
                ProbeWhenDue(p, state);
                continue;
            }

            if (p.IsBroken)
                continue;
            var started = _time.GetTimestamp();
            try
            {
                await p.Throttle.AcquireAsync(cancellationToken);
                return (await CallAsync(p, tier, jpeg, cancellationToken), p);
            }
            catch (AnalysisException e) when (e.IsOutage)
            {
                switch (await IsDownAsync(p, started, cancellationToken))
                {
                    case ProbeOutcome.Down:
                        continue; // the provider's outage, not the photo's: the next provider, or the photo waits
                    case ProbeOutcome.RateLimited:
                        throw new AnalysisException(AnalysisFailure.RateLimited, "the AI provider is rate limiting (429)", p.Throttle.PausedFor, e)
                            { Provider = p.Name, Model = p.Model };
                    default:
                        throw; // the provider answers the app's own image: the failure is this photo's
                }
            }
            catch (AnalysisException e) when (e.Failure == AnalysisFailure.RateLimited)
            {
                p.Throttle.PauseFor(e.RetryAfter ?? TimeSpan.FromSeconds(30));
                throw;
            }
        }

        throw new AnalysisException(AnalysisFailure.Unavailable, WaitingReason());
    }

    /// <summary>
    /// After a call that started at <paramref name="started"/> failed as an outage would: is the
    /// provider down? The database says so when another instance found out; otherwise a probe that
    /// started no earlier than the call decides (its failure marks the provider unavailable).
    /// </summary>
    private async Task<ProbeOutcome> IsDownAsync(VisionProvider p, long started, CancellationToken cancellationToken)
    {
        await _health.RefreshAsync(cancellationToken);
        if (_health[p.Name] is { IsAvailable: false })
            return ProbeOutcome.Down;
        return await p.ProbeAsync(started, () => ProbeAsync(p)).WaitAsync(cancellationToken);
    }

    /// <summary>One probe with the app's own image; when it finds the provider down, marks it unavailable for every instance.</summary>
    private async Task<ProbeOutcome> ProbeAsync(VisionProvider p)
    {
        var (outcome, error) = await SendProbeAsync(p);
        if (outcome != ProbeOutcome.Down)
            return outcome;
        p.Open(_break);
        try
        {
            await _health.ReportOutageAsync(p.Settings, error!, _break, CancellationToken.None);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            // This instance's breaker is open either way; other instances learn at the next report.
            _logger.LogWarning("Recording the outage of {Provider} failed ({Message})", p.Name, e.Message);
        }

        return outcome;
    }

    /// <summary>Sends the probe image as a tier 1 question; any answer that is not an outage's means the provider is there.</summary>
    private async Task<(ProbeOutcome Outcome, string? Error)> SendProbeAsync(VisionProvider p)
    {
        try
        {
            await p.Throttle.AcquireAsync(_stopping.Token);
            await CallAsync(p, Tier.Classification, ProbeImage.Jpeg, _stopping.Token);
            return (ProbeOutcome.Answered, null);
        }
        catch (AnalysisException e) when (e.IsOutage)
        {
            return (ProbeOutcome.Down, e.Message);
        }
        catch (AnalysisException e) when (e.Failure == AnalysisFailure.RateLimited)
        {
            p.Throttle.PauseFor(e.RetryAfter ?? TimeSpan.FromSeconds(30));
            return (ProbeOutcome.RateLimited, null);
        }
        catch (AnalysisException)
        {
            return (ProbeOutcome.Answered, null); // an unreadable answer or a 400 still comes from a provider that is up
        }
    }

    /// <summary>
    /// While a provider is unavailable: when its probe is due and this instance takes it (one per
    /// break across all instances), sends the probe image in the background; an answer marks the
    /// provider available again (one alert) and wakes every claimer.
    /// </summary>
    private void ProbeWhenDue(VisionProvider p, ProviderStatus state)
    {
        if (state.NextProbeAt > _time.GetUtcNow() || _stopping.IsCancellationRequested || !p.TryStartRecovery())
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                if (!await _health.TryTakeProbeAsync(p.Settings, _break, _stopping.Token))
                    return;
                var (outcome, error) = await SendProbeAsync(p);
                if (outcome == ProbeOutcome.Down)
                {
                    await _health.ProbeFailedAsync(p.Settings, error!, CancellationToken.None);
                    return;
                }

                await _health.ReportRecoveredAsync(p.Settings, CancellationToken.None);
                await p.CloseAsync();
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                _logger.LogDebug("Probing {Provider} did not finish ({Message})", p.Name, e.Message);
            }
            finally
            {
                p.RecoveryDone();
            }
        });
    }

    /// <summary>One call, measured: latency, outcome and tokens per provider, and a span in the photo's trace.</summary>
    private static async Task<VisionAnswer> CallAsync(VisionProvider p, Tier tier, byte[] jpeg, CancellationToken cancellationToken)
    {
        using var activity = Observability.Telemetry.Source.StartActivity($"provider tier {tier.Number()}");
        activity?.SetTag("vehicleimages.provider", p.Name);
        activity?.SetTag("vehicleimages.model", p.Model);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var provider = Observability.Telemetry.Tag("provider", p.Name);
        try
        {
            var answer = await p.Client.AskAsync(tier, jpeg, cancellationToken);
            Observability.Telemetry.ProviderCalls.Add(1, provider, Observability.Telemetry.Tag("outcome", "ok"));
            Observability.Telemetry.ProviderTokens.Add(answer.InputTokens, provider, Observability.Telemetry.Tag("kind", "input"));
            Observability.Telemetry.ProviderTokens.Add(answer.OutputTokens, provider, Observability.Telemetry.Tag("kind", "output"));
            return answer;
        }
        catch (AnalysisException e)
        {
            var outcome = e.Failure == AnalysisFailure.RateLimited ? "rate_limited" : e.IsOutage ? "unavailable" : "error";
            Observability.Telemetry.ProviderCalls.Add(1, provider, Observability.Telemetry.Tag("outcome", outcome));
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
            // The attempt's history names who was asked, an answer that could not be read included.
            throw e.AnsweredBy(p.Name, p.Model);
        }
        finally
        {
            Observability.Telemetry.ProviderLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, provider);
        }
    }

    public string WaitingReason() => UnavailableSince is { } since
        ? $"waiting: the analysis service is unavailable since {since:yyyy-MM-dd HH:mm} UTC"
        : "waiting: the analysis service is unavailable";

    private async Task EnsureRegisteredAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _registered) == 1)
            return;
        // Idempotent: two callers racing here both insert-or-keep the same rows.
        await _health.RegisterAsync(Providers.Select(p => p.Settings), cancellationToken);
        Volatile.Write(ref _registered, 1);
    }

    public void Dispose()
    {
        // Registered as itself and as the gate: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _stopping.Cancel();
        _stopping.Dispose();
        foreach (var p in Providers)
            p.Dispose();
    }
}
