using System.Diagnostics;
using System.Diagnostics.Metrics;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Core.Observability;

/// <summary>
/// The "VehicleImages" meter and activity source: what the pipeline measures, with the plain
/// System.Diagnostics types so Core needs no exporter; the web host exports them (Prometheus at
/// /metrics, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set). Names follow OpenTelemetry's dotted
/// style; Prometheus shows them as vehicleimages_jobs_finished_total and so on.
/// </summary>
public static class Telemetry
{
    public const string Name = "VehicleImages";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> JobsFinished = Meter.CreateCounter<long>("vehicleimages.jobs.finished", "{job}",
        "Attempts that ended, by outcome (complete, retry, failed, released, rescued)");

    public static readonly Histogram<double> ClaimLatency = Meter.CreateHistogram<double>("vehicleimages.claim.latency", "s",
        "From a job being due to being claimed");

    public static readonly Counter<long> ProviderCalls = Meter.CreateCounter<long>("vehicleimages.provider.calls", "{call}",
        "Calls to analysis providers, by provider and outcome");

    public static readonly Histogram<double> ProviderLatency = Meter.CreateHistogram<double>("vehicleimages.provider.latency", "s",
        "How long one provider call took, by provider");

    public static readonly Counter<long> ProviderTokens = Meter.CreateCounter<long>("vehicleimages.provider.tokens", "{token}",
        "Tokens the providers counted, by provider and kind (input, output)");

    public static readonly Counter<long> Uploads = Meter.CreateCounter<long>("vehicleimages.uploads", "{file}",
        "Uploaded files, by outcome (created, duplicate, rejected)");

    public static readonly Histogram<double> IngestDuration = Meter.CreateHistogram<double>("vehicleimages.ingest.duration", "s",
        "Ingest of one file: validation, decode, EXIF, variants, storage and the row");

    public static readonly Histogram<double> LiveEventLatency = Meter.CreateHistogram<double>("vehicleimages.live.event.latency", "s",
        "From the moment this instance hears a photo's status change from the database to the moment it hands it to open pages and hub clients");

    /// <summary>Queue depth by status, as last read by the QueueDepth chore (observable gauges cannot query).</summary>
    private static IReadOnlyList<KeyValuePair<string, long>> _depth = [];

    static Telemetry() =>
        Meter.CreateObservableGauge("vehicleimages.queue.depth",
            () => Volatile.Read(ref _depth).Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>("status", d.Key))),
            "{photo}", "Photos per processing status");

    public static void RecordDepth(IReadOnlyList<KeyValuePair<string, long>> depth) => Volatile.Write(ref _depth, depth);

    public static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
