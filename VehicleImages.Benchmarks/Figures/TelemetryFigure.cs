using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Queues;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class TelemetryFigure : IFigure
{
    public string Name => "telemetry";
    public string Description => "the queue with metrics and tracing on against both off, median of 3 alternating rounds: within 10 % (≥ 0.90×)";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => [await TelemetryAsync(context.Admin)];

    /// <summary>The queue with metrics and tracing on (spans recorded, as with an OTLP endpoint) against both off, alternating.</summary>
    public static async Task<Row> TelemetryAsync(string admin)
    {
        const int jobs = 10_000, rounds = 3;
        var on = new List<double>();
        var off = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            on.Add(await OurQueueAsync(admin, jobs, new() { ["Telemetry:Tracing"] = "true" }));
            off.Add(await OurQueueAsync(admin, jobs, new() { ["Telemetry:Metrics"] = "false" }));
            Console.Error.WriteLine($"telemetry round {round + 1}: on {on[^1]:0} jobs/s, off {off[^1]:0} jobs/s");
        }

        var (a, b) = (Median(on), Median(off));
        return new($"queue with metrics and tracing on ({jobs:N0} jobs; median of {rounds} alternating rounds)", $"{a:0} jobs/s",
            $"both off: {b:0} jobs/s", $"{a / b:0.00}×", "within 10 % (≥ 0.90×)", a / b >= 0.9);
    }
}
