using static VehicleImages.Benchmarks.Support.Queues;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class QueueProfileFigure : IFigure
{
    public string Name => "queue-profile";
    public string Description => "where a queued job's cost goes (statements, commits, rows, HOT updates, WAL, NOTIFYs, allocations, CPU per job), ours beside the bare tables; no target";
    public bool InAll => false;
    public Need Needs => Need.PgStatStatements;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        await QueueProfileAsync(context.Admin);
        return [];
    }

    /// <summary>
    /// Where the time goes per job, ours against the batching bare table (and the one-at-a-time one):
    /// one drain of each with <see cref="QueueProfile"/> counting. Prints tables; no ratio.
    /// </summary>
    public static async Task QueueProfileAsync(string admin)
    {
        const int jobs = 10_000;
        // A warm-up drain of each, so the JIT's first compilations are not counted.
        await OurQueueAsync(admin, 2_000);
        await BareQueueAsync(admin, 2_000, BareBatch);
        Console.Error.WriteLine("queue profile: warmed up");
        var profiles = new List<(QueueProfile Profile, double Rate)>();
        foreach (var (name, run) in new (string, Func<QueueProfile, Task<double>>)[]
                 {
                     ("ours", p => OurQueueAsync(admin, jobs, profile: p)),
                     ($"bare, {BareBatch} per claim", p => BareQueueAsync(admin, jobs, BareBatch, p)),
                     ("bare, 1 per claim", p => BareQueueAsync(admin, jobs, 1, p)),
                 })
        {
            // QUEUE_PROFILE_ONLY=ours: one entrant alone, e.g. under perf record.
            if (Environment.GetEnvironmentVariable("QUEUE_PROFILE_ONLY") is { Length: > 0 } only && only != name)
                continue;
            var profile = new QueueProfile(admin, name);
            profiles.Add((profile, await run(profile)));
        }

        Console.WriteLine();
        Console.WriteLine($"| per job ({jobs:N0} jobs, 4 workers) | " + string.Join(" | ", profiles.Select(p => p.Profile.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(profiles.Select(_ => "---|")));
        Console.WriteLine("| jobs/s (this drain) | " + string.Join(" | ", profiles.Select(p => $"{p.Rate:0}")) + " |");
        foreach (var key in profiles[0].Profile.PerJob.Keys)
            Console.WriteLine($"| {key} | " + string.Join(" | ", profiles.Select(p => p.Profile.PerJob.TryGetValue(key, out var v) ? Format(v) : "")) + " |");
        foreach (var (profile, _) in profiles)
        {
            Console.WriteLine();
            Console.WriteLine($"| {profile.Name}: statement | calls per job | rows per call | WAL bytes per job | ms per job (server) |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var s in profile.Statements.Where(s => s.CallsPerJob >= 0.0005))
                Console.WriteLine($"| {s.Statement.Replace("|", "\\|")} | {s.CallsPerJob:0.000} | {s.RowsPerCall:0.0} | {s.WalBytesPerJob:0} | {s.MsPerJob:0.000} |");
        }

        static string Format(double v) => v >= 100 ? $"{v:0}" : $"{v:0.00}";
    }
}
