using Npgsql;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Queues;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// Tuning aid (not in `all`): our queue under several in-flight settings, alternated round by round
/// in one process, with the batched bare table in every round. QUEUE_SETTINGS lists them as
/// "claims,writers,per-worker[,variant[,completion batch]]" separated by ';' (default "1,1,16;2,2,64"); QUEUE_ROUNDS the rounds.
/// Variants, for A/B of schema choices: 1 puts back the attempt history's foreign key to vehicle_images
/// (QueueThirdPass dropped it), 2 disables the status trigger (no NOTIFY: what the events cost),
/// 3 gives vehicle_images fillfactor 50 (more room for HOT status updates), 4 runs the app's connections
/// with bitmap scans off (the claim on a job table without statistics scans and sorts every pending job,
/// ADR 017), 5 analyzes the job and photo tables after the enqueue (a long-lived table has statistics;
/// each round's database is new), 6 lets the claim's vi_due_jobs plan with bitmap scans and sorts again
/// (the planner's own choice, as before ADR 017), 7 drops two of the photo's seven indexes (user_id, sha256: what a
/// photo update that is not HOT pays for them), 8 drops four (also taken_at and (vehicle_id, created_at)): the most
/// that fewer photo indexes could buy, not a schema anyone could run. 9 drops the job table's lease and (image_id, id)
/// indexes (the status trigger's attempt lookup then scans), 10 does so with the status trigger disabled, 11 leaves the
/// trigger firing with an empty body (the firing's cost without the query's), 12 and 14 fill the photo's pages to 35 %
/// and 25 % (3 is 50 %), 13 fills both the photo's and the job's to 50 %, 15 sets No Reset On Close on the app's
/// connections, 16 drops the lease index alone (what the claim's non-HOT job update pays for it). ADR 019.
/// </summary>
internal sealed class QueueSettingsFigure : IFigure
{
    public string Name => "queue-settings";
    public string Description => "tuning aid: our queue under several in-flight settings or schema variants (QUEUE_SETTINGS, QUEUE_ROUNDS) against the batching bare table; prints ratios, no target";
    public bool InAll => false;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        await QueueSettingsAsync(context.Admin);
        return [];
    }

    private const string WithAttemptKey = """
        ALTER TABLE image_processing_attempts ADD CONSTRAINT fk_image_processing_attempts_vehicle_images_image_id
            FOREIGN KEY (image_id) REFERENCES vehicle_images (id) ON DELETE CASCADE
        """;

    /// <summary>A setting's schema variant (its fourth number; 0: none).</summary>
    private static int VariantOf(int[] setting) => setting.Length > 3 ? setting[3] : 0;

    private static Dictionary<string, string?>? VariantSettings(int[] setting, string cs) => VariantOf(setting) switch
    {
        4 => new() { ["ConnectionStrings:Default"] = new NpgsqlConnectionStringBuilder(cs) { Options = "-c enable_bitmapscan=off" }.ConnectionString },
        15 => new() { ["ConnectionStrings:Default"] = new NpgsqlConnectionStringBuilder(cs) { NoResetOnClose = true }.ConnectionString },
        _ => null,
    };

    private static string? VariantAfterEnqueue(int[] setting) => VariantOf(setting) switch
    {
        5 => "ANALYZE image_processing_jobs; ANALYZE vehicle_images",
        _ => null,
    };

    private static string? Variant(int[] setting) => VariantOf(setting) switch
    {
        1 => WithAttemptKey,
        2 => "ALTER TABLE vehicle_images DISABLE TRIGGER trg_vehicle_images_status_update",
        3 => "ALTER TABLE vehicle_images SET (fillfactor = 50)",
        6 => "ALTER FUNCTION vi_due_jobs(int, int) RESET ALL",
        7 => "DROP INDEX ix_vehicle_images_user_id; DROP INDEX ix_vehicle_images_sha256",
        8 => "DROP INDEX ix_vehicle_images_user_id; DROP INDEX ix_vehicle_images_sha256; DROP INDEX ix_vehicle_images_taken_at; DROP INDEX ix_vehicle_images_vehicle_id_created_at",
        9 => "DROP INDEX ix_image_processing_jobs_lease; DROP INDEX ix_image_processing_jobs_image_id_id",
        10 => "DROP INDEX ix_image_processing_jobs_lease; DROP INDEX ix_image_processing_jobs_image_id_id; ALTER TABLE vehicle_images DISABLE TRIGGER trg_vehicle_images_status_update",
        11 => "CREATE OR REPLACE FUNCTION vi_notify_image_statuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        12 => "ALTER TABLE vehicle_images SET (fillfactor = 35)",
        13 => "ALTER TABLE vehicle_images SET (fillfactor = 50); ALTER TABLE image_processing_jobs SET (fillfactor = 50)",
        14 => "ALTER TABLE vehicle_images SET (fillfactor = 25)",
        16 => "DROP INDEX ix_image_processing_jobs_lease",
        _ => null,
    };

    public static async Task QueueSettingsAsync(string admin)
    {
        const int jobs = 10_000;
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("QUEUE_ROUNDS"), out var r) ? r : 3;
        var settings = (Environment.GetEnvironmentVariable("QUEUE_SETTINGS") is { Length: > 0 } given ? given : "1,1,16;2,2,64")
            .Split(';').Select(x => x.Split(',').Select(int.Parse).ToArray()).ToList();
        var defaultBatch = VehicleImages.Core.Processing.Queue.CompletionWriter.MaxBatch;
        void Use(int[] s) => (VehicleImages.Core.Processing.Workers.Claimer.ClaimsInFlight, VehicleImages.Core.Processing.Queue.CompletionWriter.MaxWriters,
            VehicleImages.Core.Processing.Workers.ClaimReserve.MaxPerWorker, VehicleImages.Core.Processing.Queue.CompletionWriter.MaxBatch) =
            (s[0], s[1], s[2], s.Length > 4 ? s[4] : defaultBatch);
        var rates = settings.Select(_ => new List<double>()).ToList();
        var batched = new List<double>();
        foreach (var s in settings)
        {
            Use(s);
            await OurQueueAsync(admin, 2_000, setupSql: Variant(s), extraFor: cs => VariantSettings(s, cs), afterEnqueueSql: VariantAfterEnqueue(s));
        }

        await BareQueueAsync(admin, 2_000, batch: BareBatch);
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < settings.Count; i++)
            {
                Use(settings[i]);
                rates[i].Add(await OurQueueAsync(admin, jobs, setupSql: Variant(settings[i]), extraFor: cs => VariantSettings(settings[i], cs),
                    afterEnqueueSql: VariantAfterEnqueue(settings[i])));
            }

            batched.Add(await BareQueueAsync(admin, jobs, batch: BareBatch));
            Console.Error.WriteLine($"round {round + 1}: " + string.Join(", ", settings.Select((s, i) => $"[{string.Join(',', s)}] {rates[i][^1]:0}"))
                + $", bare batched {batched[^1]:0} jobs/s");
        }

        foreach (var (s, i) in settings.Select((s, i) => (s, i)))
            Console.WriteLine($"claims,writers,per-worker [{string.Join(',', s)}]: median {Median(rates[i]):0} jobs/s = {Median(rates[i]) / Median(batched):0.00}x of bare batched {Median(batched):0}");
    }
}
