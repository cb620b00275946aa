using System.Diagnostics;

namespace VehicleImages.Core.Analysis;

/// <summary>How a probe with the app's own image went.</summary>
public enum ProbeOutcome
{
    /// <summary>The provider answered (well, or with anything that is not an outage): it is there.</summary>
    Answered,

    /// <summary>No answer, a 5xx or a timeout: the provider is down.</summary>
    Down,

    /// <summary>A 429: the provider is there but asked us to wait.</summary>
    RateLimited,
}

/// <summary>
/// One provider of the chain on this instance: its client, its rate limit, and its breaker, each
/// shared by every worker (a breaker per worker would let each learn of an outage alone). The breaker
/// is not a count of failures: photos fail for reasons of their own (a provider may answer 500 to one
/// photo every time while answering every other), and one photo's retries, or a few photos' in a
/// short window, cannot tell that from an outage. It opens only when a probe with the app's own tiny
/// image (<see cref="ProbeImage"/>) gets no answer, a 5xx or a timeout, and closes when a probe
/// answers (here or, through <see cref="ProviderHealth"/>, on another instance). Probes that overlap
/// are one probe (<see cref="ProbeAsync"/>).
/// </summary>
public sealed class VisionProvider(ProviderSettings settings, IVisionClient client, ProviderThrottle throttle, TimeProvider time)
    : IDisposable
{
    private readonly Lock _gate = new();
    private (long StartedAt, Task<ProbeOutcome> Probe)? _lastProbe;
    private long _openUntil;
    private int _recovering;

    public ProviderSettings Settings { get; } = settings;

    public string Name => Settings.Name;

    public string Model => Settings.Model;

    public IVisionClient Client { get; } = client;

    public ProviderThrottle Throttle { get; } = throttle;

    /// <summary>True while this instance's breaker refuses calls (a probe found the provider down within the break).</summary>
    public bool IsBroken => time.GetTimestamp() < Interlocked.Read(ref _openUntil);

    /// <summary>A probe found the provider down: no call goes to it from this instance for <paramref name="breakDuration"/>.</summary>
    public void Open(TimeSpan breakDuration) =>
        Interlocked.Exchange(ref _openUntil, time.GetTimestamp() + (long)(breakDuration.TotalSeconds * time.TimestampFrequency));

    /// <summary>A probe (here or on another instance) found the provider back: this instance's breaker closes too.</summary>
    public Task CloseAsync()
    {
        Interlocked.Exchange(ref _openUntil, 0);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The outcome of a probe that started no earlier than <paramref name="since"/> (a
    /// <see cref="TimeProvider.GetTimestamp"/>): the one already running or finished when it did,
    /// else a new one. So the workers whose calls failed together at the start of an outage wait for
    /// one probe, not one each, and a probe that began before a call never judges that call.
    /// </summary>
    public Task<ProbeOutcome> ProbeAsync(long since, Func<Task<ProbeOutcome>> probe)
    {
        lock (_gate)
        {
            if (_lastProbe is { } last && last.StartedAt >= since)
                return last.Probe;
            var started = time.GetTimestamp();
            var task = Task.Run(probe);
            _lastProbe = (started, task);
            return task;
        }
    }

    /// <summary>Takes the right to run this instance's recovery probe; false while one is running.</summary>
    public bool TryStartRecovery() => Interlocked.CompareExchange(ref _recovering, 1, 0) == 0;

    public void RecoveryDone() => Interlocked.Exchange(ref _recovering, 0);

    public void Dispose() => Throttle.Dispose();
}

/// <summary>
/// The tiny drawing of a car the app carries for probes (an embedded resource, 64×48 JPEG): probes never
/// send a user's photo, so a photo the provider cannot handle never keeps the provider "down".
/// </summary>
public static class ProbeImage
{
    public const int Width = 64;
    public const int Height = 48;

    public static byte[] Jpeg { get; } = Load();

    private static byte[] Load()
    {
        using var stream = typeof(ProbeImage).Assembly.GetManifestResourceStream("VehicleImages.Core.Analysis.Providers.probe.jpg")
            ?? throw new UnreachableException("the probe image is embedded in VehicleImages.Core");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
