using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using VehicleImages.Core.Configuration;

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
/// goes to the first one available. A provider is skipped while it is unavailable, except for the
/// one probe per Analysis:BreakSeconds that tests it again. Errors that belong to one photo (an
/// answer that cannot be read, a 400) are that photo's; when no provider is left, the photo waits
/// (<see cref="AnalysisFailure.Unavailable"/>), spending no attempt, and the claimer stops claiming.
/// </summary>
public sealed class ProviderChain : IAnalysisGate, IDisposable
{
    private readonly ProviderHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<ProviderChain> _logger;
    private readonly TimeSpan _break;
    private int _registered;

    public ProviderChain(IOptions<AnalysisOptions> options, IHttpClientFactory http, ProviderHealth health, TimeProvider time,
        ILogger<ProviderChain> logger, ILoggerFactory loggers, Func<ProviderSettings, IVisionClient>? clients = null)
    {
        _health = health;
        _time = time;
        _logger = logger;
        _break = TimeSpan.FromSeconds(options.Value.BreakSeconds);
        Providers = [.. ProviderSettings.Chain(options.Value).Select(s => new VisionProvider(
            s, clients?.Invoke(s) ?? new OpenAiVisionClient(s, http, loggers.CreateLogger<OpenAiVisionClient>()), new ProviderThrottle(s.RequestsPerMinute, time), _break, OnOpenedAsync))];
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
        var nextProbe = TimeSpan.MaxValue;
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

            var untilProbe = state.NextProbeAt - now;
            if (untilProbe <= TimeSpan.Zero)
                return new ClaimPermit(Math.Min(free, 1), poll); // one photo, to probe with
            nextProbe = untilProbe < nextProbe ? untilProbe : nextProbe;
        }

        return new ClaimPermit(0, nextProbe < poll ? nextProbe : poll);
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
            if (state is null || state.IsAvailable)
            {
                if (p.IsBroken)
                    continue;
                try
                {
                    await p.Throttle.AcquireAsync(cancellationToken);
                    return (await p.Pipeline.ExecuteAsync(async ct => await CallAsync(p, tier, jpeg, ct), cancellationToken), p);
                }
                catch (BrokenCircuitException)
                {
                    continue; // it opened meanwhile
                }
                catch (AnalysisException e) when (e.IsOutage && p.IsBroken)
                {
                    continue; // this very failure opened it: the outage, not the photo
                }
                catch (AnalysisException e) when (e.IsOutage)
                {
                    // Another instance may already have judged it an outage: then this photo waits with its attempt.
                    if (!await MarkedUnavailableElsewhereAsync(p, cancellationToken))
                        throw;
                }
                catch (AnalysisException e) when (e.Failure == AnalysisFailure.RateLimited)
                {
                    p.Throttle.PauseFor(e.RetryAfter ?? TimeSpan.FromSeconds(30));
                    throw;
                }
            }
            else if (state.NextProbeAt <= _time.GetUtcNow() && await _health.TryTakeProbeAsync(p.Settings, _break, cancellationToken))
            {
                try
                {
                    await p.Throttle.AcquireAsync(cancellationToken);
                    var answer = await CallAsync(p, tier, jpeg, cancellationToken);
                    await _health.ReportRecoveredAsync(p.Settings, CancellationToken.None);
                    await p.CloseAsync();
                    return (answer, p);
                }
                catch (AnalysisException e) when (e.IsOutage)
                {
                    await _health.ProbeFailedAsync(p.Settings, e.Message, CancellationToken.None);
                }
            }
        }

        throw new AnalysisException(AnalysisFailure.Unavailable, WaitingReason());
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
            throw;
        }
        finally
        {
            Observability.Telemetry.ProviderLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, provider);
        }
    }

    /// <summary>After an outage failure while this instance's breaker is closed: has another instance already marked the provider unavailable?</summary>
    private async Task<bool> MarkedUnavailableElsewhereAsync(VisionProvider provider, CancellationToken cancellationToken)
    {
        await _health.RefreshAsync(cancellationToken);
        return _health[provider.Name] is { IsAvailable: false };
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

    private async ValueTask OnOpenedAsync(VisionProvider provider, string error)
    {
        try
        {
            await _health.ReportOutageAsync(provider.Settings, error, _break, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The breaker is open here either way; other instances learn at the next report.
            _logger.LogWarning("Recording the outage of {Provider} failed ({Message})", provider.Name, e.Message);
        }
    }

    public void Dispose()
    {
        foreach (var p in Providers)
            p.Dispose();
    }
}
