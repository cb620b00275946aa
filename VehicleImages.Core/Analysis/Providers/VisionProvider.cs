using Polly;
using Polly.CircuitBreaker;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// One provider of the chain on this instance: its client, its rate limit, and its circuit breaker,
/// each shared by every worker (a breaker per worker would let each learn of an outage alone).
/// The breaker counts only outage failures (refused or lost connections, 5xx, timeouts) across
/// photos: it opens when at least <see cref="MinimumThroughput"/> calls in
/// <see cref="SamplingDuration"/> failed half the time or more, which one photo's own retries cannot
/// reach. Opening and closing are reported to <see cref="ProviderHealth"/>, which tells every instance.
/// </summary>
public sealed class VisionProvider : IDisposable
{
    public const int MinimumThroughput = 5;
    public const double FailureRatio = 0.5;
    public static readonly TimeSpan SamplingDuration = TimeSpan.FromSeconds(30);

    private readonly CircuitBreakerStateProvider _state = new();
    private readonly CircuitBreakerManualControl _control = new();

    public VisionProvider(ProviderSettings settings, IVisionClient client, ProviderThrottle throttle, TimeSpan breakDuration,
        Func<VisionProvider, string, ValueTask> opened)
    {
        Settings = settings;
        Client = client;
        Throttle = throttle;
        Pipeline = new ResiliencePipelineBuilder().AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = FailureRatio,
            MinimumThroughput = MinimumThroughput,
            SamplingDuration = SamplingDuration,
            BreakDuration = breakDuration,
            ShouldHandle = new PredicateBuilder().Handle<AnalysisException>(e => e.IsOutage),
            StateProvider = _state,
            ManualControl = _control,
            OnOpened = args => opened(this, args.Outcome.Exception?.Message ?? "the provider keeps failing"),
        }).Build();
    }

    public ProviderSettings Settings { get; }

    public string Name => Settings.Name;

    public string Model => Settings.Model;

    public IVisionClient Client { get; }

    public ProviderThrottle Throttle { get; }

    public ResiliencePipeline Pipeline { get; }

    /// <summary>True while this instance's breaker refuses calls.</summary>
    public bool IsBroken => _state.CircuitState is CircuitState.Open or CircuitState.Isolated;

    /// <summary>Another instance's probe found the provider back: this instance's breaker closes too.</summary>
    public Task CloseAsync() => _state.CircuitState == CircuitState.Closed ? Task.CompletedTask : _control.CloseAsync();

    public void Dispose() => Throttle.Dispose();
}
