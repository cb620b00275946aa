using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Queues;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class QueueFigure : IFigure
{
    public string Name => "queue";
    public string Description => "10,000 jobs, 4 workers, no-op analyzer, against bare SKIP LOCKED tables: ≥ 1,000 jobs/s and ≥ 0.8× one per claim, ≥ 0.6× batching 16 per claim";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await QueueAsync(context.Admin);

    public static async Task<List<Row>> QueueAsync(string admin)
    {
        const int jobs = 10_000, rounds = 3;
        // Alternating rounds, medians compared: every side runs with the JIT warmed by the others'
        // first round, and a slow moment of the machine cannot land on one side only. Two references:
        // the textbook one claiming and completing one job per statement, and the same table claiming
        // 16 per statement and completing them in one (what batching peers do).
        var ours = new List<double>();
        var bare = new List<double>();
        var batched = new List<double>();
        // One uncounted drain of each first: our queue runs a whole app whose code the JIT is still
        // compiling to its optimized tier for seconds after start (perf showed half the process's CPU
        // in the tiering thread during a cold first round); the bare loops are a few methods. The
        // figure is the long-running queue's, so every entrant is measured warm.
        await OurQueueAsync(admin, 2_000);
        await BareQueueAsync(admin, 2_000, batch: 1);
        await BareQueueAsync(admin, 2_000, batch: BareBatch);
        for (var round = 0; round < rounds; round++)
        {
            ours.Add(await OurQueueAsync(admin, jobs));
            bare.Add(await BareQueueAsync(admin, jobs, batch: 1));
            batched.Add(await BareQueueAsync(admin, jobs, batch: BareBatch));
            Console.Error.WriteLine($"queue round {round + 1}: ours {ours[^1]:0} jobs/s, bare {bare[^1]:0} jobs/s, bare batched {batched[^1]:0} jobs/s");
        }

        var (o, b, bb) = (Median(ours), Median(bare), Median(batched));
        return
        [
            new($"queue ({jobs:N0} jobs, 4 workers, no-op analyzer; median of {rounds} alternating rounds)", $"{o:0} jobs/s",
                $"bare table, 1 per claim: {b:0} jobs/s", $"{o / b:0.00}×", "≥ 1,000 jobs/s and ≥ 0.8×", o >= 1000 && o / b >= 0.8),
            new($"queue against a batching bare table (same rounds)", $"{o:0} jobs/s",
                $"bare table, {BareBatch} per claim, batched completion: {bb:0} jobs/s", $"{o / bb:0.00}×", "≥ 0.6×", o / bb >= 0.6),
        ];
    }
}
