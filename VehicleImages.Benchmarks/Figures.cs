using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR.Client;
using NetVips;
using Npgsql;

namespace VehicleImages.Benchmarks;

public sealed record Row(string Figure, string Measured, string Reference, string Result, string Target, bool Met);

public static partial class Figures
{
    private static string Mib(long bytes) => $"{bytes / 1024.0 / 1024:0} MiB";

    /// <summary>24 distinct 12-megapixel JPEGs from a real photo, each with its own grain.</summary>
    private static List<string> MakeJpegs(string folder, int count, int width, int height)
    {
        Directory.CreateDirectory(folder);
        var source = Path.Combine(Rig.Root, "..", "shared", "testdata", "images", "exif-orientation-examples__Landscape_1.jpg");
        using var photo = Image.NewFromFile(source);
        using var scaled = photo.Resize((double)width / photo.Width, vscale: (double)height / photo.Height);
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var noise = Image.Gaussnoise(width, height, sigma: 6, mean: 0, seed: i + 1);
            using var grain = scaled + noise.Bandjoin(noise, noise);
            using var eight = grain.Cast(Enums.BandFormat.Uchar);
            var path = Path.Combine(folder, $"photo_{i:00}.jpg");
            eight.Jpegsave(path, q: 90);
            files.Add(path);
        }

        return files;
    }

    public static async Task<List<Row>> IngestAndMemoryAsync(string admin, string work)
    {
        var files = MakeJpegs(Path.Combine(work, "12mp"), 24, 4000, 3000);

        // Reference: vipsthumbnail making the same three sizes, two files at a time.
        var outDir = Directory.CreateDirectory(Path.Combine(work, "vips-out")).FullName;
        var reference = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (file, ct) =>
        {
            foreach (var size in new[] { 2048, 1024, 320 })
            {
                using var p = Process.Start(new ProcessStartInfo("vipsthumbnail", [file, "-s", size.ToString(), "-o",
                    Path.Combine(outDir, $"%s_{size}.jpg[Q=82,strip]")]))!;
                await p.WaitForExitAsync(ct);
                if (p.ExitCode != 0)
                    throw new InvalidOperationException("vipsthumbnail failed");
            }
        });
        reference.Stop();

        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-ingest")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "bench@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var bytes = files.Select(File.ReadAllBytes).ToList();
        var ingest = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bytes.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
        {
            var result = await Rig.UploadAsync(client, vehicle, $"photo_{f.i}.jpg", f.b);
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        });
        ingest.Stop();
        var peak = app.PeakRssBytes();

        // One 100-megapixel JPEG into a fresh process, so its peak is that upload's own.
        var big = MakeJpegs(Path.Combine(work, "100mp"), 1, 10000, 10000)[0];
        long bigPeak;
        await using (var fresh = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" }))
        {
            var (c2, _) = await Rig.UserAsync(fresh.BaseAddress, "bench2@example.test");
            var v2 = await Rig.VehicleAsync(c2);
            var result = await Rig.UploadAsync(c2, v2, "big.jpg", await File.ReadAllBytesAsync(big));
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("100 MP upload not created: " + result);
            bigPeak = fresh.PeakRssBytes();
        }

        var ratio = ingest.Elapsed / reference.Elapsed;
        return
        [
            new("ingest (24 × 12 MP, 2 at a time)", $"{ingest.Elapsed.TotalSeconds:0.00} s", $"vipsthumbnail {reference.Elapsed.TotalSeconds:0.00} s",
                $"{ratio:0.00}×", "≤ 1.25×", ratio <= 1.25),
            new("memory: peak RSS during that ingest", Mib(peak), "", Mib(peak), "≤ 600 MiB", peak <= 600L * 1024 * 1024),
            new("memory: peak RSS ingesting one 100 MP JPEG", Mib(bigPeak), "", Mib(bigPeak), "≤ 400 MiB", bigPeak <= 400L * 1024 * 1024),
        ];
    }

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
        var defaultBatch = VehicleImages.Core.Processing.CompletionWriter.MaxBatch;
        void Use(int[] s) => (VehicleImages.Core.Processing.Claimer.ClaimsInFlight, VehicleImages.Core.Processing.CompletionWriter.MaxWriters,
            VehicleImages.Core.Processing.ClaimReserve.MaxPerWorker, VehicleImages.Core.Processing.CompletionWriter.MaxBatch) =
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

    private static async Task<double> OurQueueAsync(string admin, int jobs, Dictionary<string, string?>? extra = null, QueueProfile? profile = null,
        string? setupSql = null, Func<string, Dictionary<string, string?>?>? extraFor = null, string? afterEnqueueSql = null)
    {
        var cs = await Rig.DatabaseAsync(admin);
        extra ??= extraFor?.Invoke(cs);
        // Migrate and hold processing, then insert the images (the trigger makes their jobs).
        var app = VehicleImages.Web.VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Default"] = cs, ["Processing:Workers"] = "4", ["Storage:Root"] = Path.GetTempPath(),
                ["Logging:LogLevel:Default"] = "Warning",
            });
            b.Configuration.AddInMemoryCollection(extra ?? []);
            b.Services.AddSingleton<VehicleImages.Core.Analysis.IImageAnalyzer, NoOpAnalyzer>();
        });
        await VehicleImages.Web.VehicleImagesApp.StartAsync(app);
        var queue = app.Services.GetRequiredService<VehicleImages.Core.Processing.ProcessingCommands>();
        await queue.SetPausedAsync(true, default);
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            if (setupSql is not null)
                await new NpgsqlCommand(setupSql, c).ExecuteNonQueryAsync();
            var insert = new NpgsqlCommand("""
                INSERT INTO asp_net_users (id, user_name, email, email_confirmed, phone_number_confirmed, two_factor_enabled, lockout_enabled, access_failed_count)
                VALUES ('00000000-0000-0000-0000-000000000001', 'q', 'q', false, false, false, false, 0);
                INSERT INTO vehicles (id, user_id, name) VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'q');
                INSERT INTO vehicle_images (vehicle_id, user_id, file_name)
                SELECT '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'f' || g FROM generate_series(1, @n) g;
                """, c);
            insert.Parameters.AddWithValue("n", jobs);
            await insert.ExecuteNonQueryAsync();
            if (afterEnqueueSql is not null)
                await new NpgsqlCommand(afterEnqueueSql, c).ExecuteNonQueryAsync();
        }

        if (profile is not null)
            await profile.BeforeAsync(cs);
        Mark("start");
        var clock = Stopwatch.StartNew();
        await queue.SetPausedAsync(false, default);
        // A cheap check (the partial index of live jobs), so the watching costs the database next to nothing.
        await using (var watch = new NpgsqlConnection(cs))
        {
            await watch.OpenAsync();
            var live = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM image_processing_jobs WHERE status IN ('pending', 'processing'))", watch);
            while ((bool)(await live.ExecuteScalarAsync())!)
                await Task.Delay(50);
        }

        clock.Stop();
        Mark("end");
        profile?.Drained();
        await app.StopAsync();
        await app.DisposeAsync();
        if (profile is not null)
            await profile.AfterAsync(jobs);
        return jobs / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// BENCH_DRAIN_MARK=dir: a file "start" appears there as a drain of ours begins and "end" as it ends,
    /// so a profiler outside (perf record -a) can cover the drain alone.
    /// </summary>
    private static void Mark(string name)
    {
        if (Environment.GetEnvironmentVariable("BENCH_DRAIN_MARK") is { Length: > 0 } dir)
            File.WriteAllText(Path.Combine(dir, name), DateTime.UtcNow.ToString("O"));
    }

    /// <summary>Jobs per claim of the batching reference, as the peers' scripts (../shared/peers/queue) run it.</summary>
    public const int BareBatch = 16;

    /// <summary>
    /// The reference: the textbook SKIP LOCKED queue, a one-table job list with no images, results or
    /// history, where each of 4 workers claims <paramref name="batch"/> jobs in one statement and
    /// completes them, fenced by the worker's name: one statement per job when it claims one at a
    /// time (the textbook loop), one statement for the whole batch when it batches.
    /// </summary>
    private static async Task<double> BareQueueAsync(string admin, int jobs, int batch, QueueProfile? profile = null)
    {
        // The same connection settings as the app's queue (statements prepared after two uses), for a fair comparison.
        var cs = new NpgsqlConnectionStringBuilder(await Rig.DatabaseAsync(admin)) { MaxAutoPrepare = 32, AutoPrepareMinUsages = 2 }.ConnectionString;
        var source = NpgsqlDataSource.Create(cs);
        await using (var setupConnection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { Pooling = false }.ConnectionString))
        {
            await setupConnection.OpenAsync();
            await using var setup = new NpgsqlCommand("""
            CREATE TABLE bare_jobs (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'pending', locked_by text, run_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX ON bare_jobs (run_at, id) WHERE status = 'pending';
            INSERT INTO bare_jobs (status) SELECT 'pending' FROM generate_series(1, @n);
            """, setupConnection);
            setup.Parameters.AddWithValue("n", jobs);
            await setup.ExecuteNonQueryAsync();
        }

        if (profile is not null)
            await profile.BeforeAsync(cs);
        Mark($"bare{batch}-start");
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async w =>
        {
            while (true)
            {
                var ids = new List<long>();
                await using (var claim = source.CreateCommand("""
                    WITH due AS MATERIALIZED (SELECT id FROM bare_jobs WHERE status = 'pending' AND run_at <= now()
                        ORDER BY run_at, id FOR UPDATE SKIP LOCKED LIMIT @batch)
                    UPDATE bare_jobs j SET status = 'processing', locked_by = @w FROM due WHERE j.id = due.id RETURNING j.id
                    """))
                {
                    claim.Parameters.AddWithValue("w", $"w{w}");
                    claim.Parameters.AddWithValue("batch", batch);
                    await using var r = await claim.ExecuteReaderAsync();
                    while (await r.ReadAsync())
                        ids.Add(r.GetInt64(0));
                }

                if (ids.Count == 0)
                    return;
                if (batch == 1)
                {
                    foreach (var id in ids)
                    {
                        await using var done = source.CreateCommand("UPDATE bare_jobs SET status = 'complete' WHERE id = @id AND status = 'processing' AND locked_by = @w");
                        done.Parameters.AddWithValue("id", id);
                        done.Parameters.AddWithValue("w", $"w{w}");
                        await done.ExecuteNonQueryAsync();
                    }
                }
                else
                {
                    await using var done = source.CreateCommand("UPDATE bare_jobs SET status = 'complete' WHERE id = ANY(@ids) AND status = 'processing' AND locked_by = @w");
                    done.Parameters.AddWithValue("ids", ids.ToArray());
                    done.Parameters.AddWithValue("w", $"w{w}");
                    await done.ExecuteNonQueryAsync();
                }
            }
        }));
        clock.Stop();
        Mark($"bare{batch}-end");
        profile?.Drained();
        await source.DisposeAsync();
        if (profile is not null)
            await profile.AfterAsync(jobs);
        return jobs / clock.Elapsed.TotalSeconds;
    }

    private sealed class NoOpAnalyzer : VehicleImages.Core.Analysis.IImageAnalyzer
    {
        public Task<VehicleImages.Core.Analysis.AnalysisResult> AnalyzeAsync(VehicleImages.Core.Analysis.AnalysisRequest request,
            VehicleImages.Core.Analysis.ITierResults results, CancellationToken cancellationToken) =>
            Task.FromResult(new VehicleImages.Core.Analysis.AnalysisResult(new System.Text.Json.Nodes.JsonObject(), null, [], 0));
    }

    public static async Task<Row> LatencyAsync(string admin, string work)
    {
        var providerTime = TimeSpan.FromMilliseconds(300);
        await using var fake = await FakeProvider.StartAsync(providerTime);
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-latency")).FullName;
        var provider = new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(), ["Analysis__RequestsPerMinute"] = "6000",
        };
        await using var web = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>(provider) { ["Processing__Workers"] = "0" });
        await using var worker = await Rig.StartAppAsync(cs, storage, provider);
        var (client, token) = await Rig.UserAsync(web.BaseAddress, "latency@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var events = new ConcurrentDictionary<(Guid, string), DateTimeOffset>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(worker.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        hub.On<JsonElement>("ImageStatusChanged", m =>
            events.TryAdd((m.GetProperty("imageId").GetGuid(), m.GetProperty("processingStatus").GetString()!), DateTimeOffset.UtcNow));
        await hub.StartAsync();

        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "latency"), 1, 1600, 1200)[0]);
        var toProcessing = new List<double>();
        var toComplete = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var bytes = photo.Concat(BitConverter.GetBytes(i)).ToArray();
            var result = await Rig.UploadAsync(client, vehicle, $"l{i}.jpg", bytes);
            var answered = DateTimeOffset.UtcNow;
            var id = result.GetProperty("imageId").GetGuid();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!events.ContainsKey((id, "complete")) && DateTime.UtcNow < deadline)
                await Task.Delay(5);
            if (events.TryGetValue((id, "processing"), out var p))
                toProcessing.Add((p - answered).TotalMilliseconds);
            if (events.TryGetValue((id, "complete"), out var c))
                toComplete.Add((c - answered - providerTime).TotalMilliseconds);
        }

        var (medianProcessing, medianComplete) = (Median(toProcessing), Median(toComplete));
        return new("latency: upload answer → processing / complete at a client of another instance",
            $"{medianProcessing:0} ms / {medianComplete:0} ms beyond the provider", "provider 300 ms",
            $"median {Math.Max(medianProcessing, medianComplete):0} ms", "median ≤ 100 ms beyond the provider",
            toComplete.Count == 20 && medianProcessing <= 100 && medianComplete <= 100);
    }

    private static double Median(List<double> values) =>
        values.Count == 0 ? double.NaN : values.Order().ElementAt(values.Count / 2);

    public static async Task<Row> RateLimitAsync(string admin, string work)
    {
        await using var fake = await FakeProvider.StartAsync(TimeSpan.FromMilliseconds(50), perMinute: 60);
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-rate")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(), ["Analysis__RequestsPerMinute"] = "60",
        });
        var (client, _) = await Rig.UserAsync(app.BaseAddress, "rate@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        await client.PostAsync("api/admin/processing/pause", null);
        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "rate"), 1, 1200, 900)[0]);
        for (var i = 0; i < 30; i++)
            await Rig.UploadAsync(client, vehicle, $"r{i}.jpg", photo.Concat(BitConverter.GetBytes(i)).ToArray());

        var clock = Stopwatch.StartNew();
        await client.PostAsync("api/admin/processing/resume", null);
        await using var db = new NpgsqlConnection(cs);
        await db.OpenAsync();
        long done = 0, failed = 0;
        while (done + failed < 30 && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(200);
            done = (long)(await new NpgsqlCommand("SELECT count(*) FROM vehicle_images WHERE processing_status = 'complete'", db).ExecuteScalarAsync())!;
            failed = (long)(await new NpgsqlCommand("SELECT count(*) FROM vehicle_images WHERE processing_status = 'failed'", db).ExecuteScalarAsync())!;
        }

        clock.Stop();
        // The fastest the limit allows: 60 in the first minute, so 30 calls could all go at once; measure
        // against a steady 60 a minute (one a second), what a provider's per-minute limit means in practice.
        // Calls a minute achieved against the 60 allowed (a short run may beat 60/min on average
        // because the pacing allows a small burst; the provider's own count shows none refused).
        var perMinute = fake.Accepted / clock.Elapsed.TotalMinutes;
        var share = perMinute / 60;
        return new("rate limit: 30 photos, provider 429 above 60/min, RequestsPerMinute=60",
            $"{clock.Elapsed.TotalSeconds:0.0} s, {perMinute:0} calls/min, {fake.Refused} × 429, {failed} failed", "60 requests/min",
            $"{share:0.00} of the limit", "≥ 0.9 of the limit, no photo failed", share >= 0.9 && failed == 0);
    }

    /// <summary>
    /// A provider outage: two instances sharing the database and storage, the fake provider down
    /// (500 to every call) for <c>outage</c> while 100 photos wait, then back. Counts the photos that
    /// failed, the calls the provider received while down (against 2 per BreakSeconds per instance),
    /// and how long after the recovery the last photo is complete (against 100 / rate + 10 s),
    /// measured both from the recovery itself and from the first successful probe.
    /// </summary>
    public static async Task<List<Row>> OutageAsync(string admin, string work)
    {
        const int photos = 100, instances = 2, breakSeconds = 30, perMinute = 600;
        var outage = TimeSpan.FromMinutes(2);
        await using var fake = await FakeProvider.StartAsync(TimeSpan.FromMilliseconds(50));
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-outage")).FullName;
        var settings = new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis__RequestsPerMinute"] = perMinute.ToString(), ["Analysis__BreakSeconds"] = breakSeconds.ToString(),
            ["Processing__MaxAttempts"] = "4", // the default retry delays (5, 15, 60 s)
        };
        await using var a = await Rig.StartAppAsync(cs, storage, settings);
        await using var b = await Rig.StartAppAsync(cs, storage, settings);
        var (client, _) = await Rig.UserAsync(a.BaseAddress, "outage@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "outage"), 1, 1200, 900)[0]);
        await using var db = new NpgsqlConnection(cs);
        await db.OpenAsync();

        async Task<(long Complete, long Failed, long Other)> StatusAsync()
        {
            long complete = 0, failed = 0, other = 0;
            await using var cmd = new NpgsqlCommand("SELECT processing_status, count(*) FROM vehicle_images GROUP BY 1", db);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var n = r.GetInt64(1);
                switch (r.GetString(0))
                {
                    case "complete": complete += n; break;
                    case "failed": failed += n; break;
                    default: other += n; break;
                }
            }

            return (complete, failed, other);
        }

        async Task<(string State, DateTimeOffset Since)?> ProviderAsync()
        {
            await using var cmd = new NpgsqlCommand("SELECT state, since FROM analysis_providers WHERE name = 'OpenAI'", db);
            await using var r = await cmd.ExecuteReaderAsync();
            return await r.ReadAsync() ? (r.GetString(0), r.GetFieldValue<DateTimeOffset>(1)) : null;
        }

        // Down, then the photos arrive; the provider stays down for the outage from this moment.
        fake.Down = true;
        var downAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < photos; i++)
        {
            var result = await Rig.UploadAsync(client, vehicle, $"o{i}.jpg", photo.Concat(BitConverter.GetBytes(i)).ToArray());
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        }

        Console.Error.WriteLine($"outage: {photos} photos uploaded in {clock.Elapsed.TotalSeconds:0.0} s with the provider down");
        long maxFailedSeen = 0;
        DateTimeOffset? unavailableSince = null;
        var nextReport = TimeSpan.Zero;
        while (clock.Elapsed < outage)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            var (complete, failed, other) = await StatusAsync();
            maxFailedSeen = Math.Max(maxFailedSeen, failed);
            var state = await ProviderAsync();
            if (state is { State: "unavailable" } s)
                unavailableSince ??= s.Since;
            if (clock.Elapsed >= nextReport)
            {
                Console.Error.WriteLine($"outage: +{clock.Elapsed.TotalSeconds:0} s down: {fake.CallsWhileDown} calls received, provider {state?.State ?? "?"}, " +
                    $"photos {complete} complete / {failed} failed / {other} waiting");
                nextReport = TimeSpan.FromSeconds((Math.Floor(clock.Elapsed.TotalSeconds / 15) + 1) * 15); // every 15 s mark
            }
        }

        fake.Down = false;
        var upAt = DateTimeOffset.UtcNow;
        var downFor = upAt - downAt;
        var callsWhileDown = fake.CallsWhileDownAt.Select(t => (t - downAt).TotalSeconds).Order().ToList();
        Console.Error.WriteLine($"outage: provider back after {downFor.TotalSeconds:0.0} s; calls while down at +s: " +
            string.Join(", ", callsWhileDown.Select(t => t.ToString("0.0"))));

        // Recovery: until every photo is complete or failed (bounded, should the photos never go on).
        var recovery = Stopwatch.StartNew();
        TimeSpan? lastDone = null;
        while (recovery.Elapsed < TimeSpan.FromMinutes(2))
        {
            var (complete, failed, _) = await StatusAsync();
            maxFailedSeen = Math.Max(maxFailedSeen, failed);
            if (complete + failed >= photos)
            {
                lastDone = recovery.Elapsed;
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        var final = await StatusAsync();
        var firstProbe = fake.AcceptedAt.Where(t => t >= upAt).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var probeAfter = firstProbe == DateTimeOffset.MaxValue ? (TimeSpan?)null : firstProbe - upAt;
        long everFailed, spentAttempts;
        await using (var cmd = new NpgsqlCommand("SELECT count(DISTINCT image_id) FROM image_processing_attempts WHERE outcome = 'failed'", db))
            everFailed = (long)(await cmd.ExecuteScalarAsync())!;
        // Attempts the outage cost that were not given back: a photo completed by its first attempt has attempt 1
        // (a completed job's record is its completing attempt, ADR 017).
        await using (var cmd = new NpgsqlCommand("SELECT coalesce(sum(attempt - 1), 0) FROM image_processing_attempts WHERE outcome = 'complete'", db))
            spentAttempts = (long)(await cmd.ExecuteScalarAsync())!;
        Console.Error.WriteLine($"outage: recovery: first successful probe +{probeAfter?.TotalSeconds:0.0} s, last photo done +{lastDone?.TotalSeconds:0.0} s; " +
            $"photos {final.Complete} complete / {final.Failed} failed / {final.Other} not done; {everFailed} ever failed; " +
            $"{spentAttempts} attempts spent and not given back; {fake.Accepted} calls answered after the recovery");

        var failedPhotos = Math.Max(final.Failed, Math.Max(maxFailedSeen, everFailed));
        var before = unavailableSince is { } u ? callsWhileDown.Count(t => t <= (u - downAt).TotalSeconds) : callsWhileDown.Count;
        var allowed = instances * (int)Math.Round(outage.TotalSeconds / breakSeconds) * 2;
        var rate = perMinute / 60.0;
        var budget = TimeSpan.FromSeconds(photos / rate + 10);
        var fromProbe = lastDone is { } done && probeAfter is { } p ? done - p : (TimeSpan?)null;
        string S(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:0.0} s" : "never";
        return
        [
            new($"outage: photos failed ({photos} photos, provider 500 for {outage.TotalSeconds:0} s, {instances} instances, MaxAttempts=4)",
                $"{final.Failed} failed at the end, {failedPhotos} ever; {final.Complete} complete, {final.Other} not done; {spentAttempts} attempts spent",
                "", $"{failedPhotos} failed", "0 failed", failedPhotos == 0 && final.Complete == photos),
            new($"outage: provider calls while down ({downFor.TotalSeconds:0} s, BreakSeconds={breakSeconds})",
                $"{callsWhileDown.Count} calls: {before} until marked unavailable at " +
                $"{(unavailableSince is { } us ? $"+{(us - downAt).TotalSeconds:0.0} s" : "never")}, {callsWhileDown.Count - before} after",
                $"{instances} instances × {outage.TotalSeconds:0} s / {breakSeconds} s × 2", $"{callsWhileDown.Count} calls", $"≤ {allowed}",
                callsWhileDown.Count <= allowed),
            new($"outage: recovery → last of {photos} photos complete (RequestsPerMinute={perMinute})",
                $"{S(lastDone)} from the recovery; first successful probe {S(probeAfter)} after it (≤ {breakSeconds} s by design)",
                $"{photos} / {perMinute} per min = {photos / rate:0} s", $"{S(fromProbe)} from the first successful probe",
                $"≤ {budget.TotalSeconds:0} s from the first successful probe", fromProbe is { } f && f <= budget && final.Complete == photos),
        ];
    }

    public static async Task<List<Row>> GalleryAsync(string admin, string work)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-gallery")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
        var (api, _) = await Rig.UserAsync(app.BaseAddress, "gallery@example.test");
        var big = await Rig.VehicleAsync(api);
        var small = await Rig.VehicleAsync(api);
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            var cmd = new NpgsqlCommand("""
                INSERT INTO vehicle_images (vehicle_id, user_id, file_name, processing_status, ai_scan_metadata)
                SELECT v.id, v.user_id, 'IMG_' || g || '.jpg', 'complete', '{"tier_1_analysis": {}}'
                FROM vehicles v, generate_series(1, CASE WHEN v.id = @big THEN 5000 ELSE 50 END) g WHERE v.id IN (@big, @small)
                """, c);
            cmd.Parameters.AddWithValue("big", big);
            cmd.Parameters.AddWithValue("small", small);
            await cmd.ExecuteNonQueryAsync();
        }

        var browser = await SignInAsync(app.BaseAddress, "gallery@example.test");
        async Task<(double Ms, int Nodes)> RenderAsync(Guid vehicle)
        {
            await browser.GetStringAsync($"vehicles/{vehicle}"); // warm
            var times = new List<double>();
            string html = "";
            for (var i = 0; i < 5; i++)
            {
                var clock = Stopwatch.StartNew();
                html = await browser.GetStringAsync($"vehicles/{vehicle}");
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            if (!html.Contains("photo-grid"))
                throw new InvalidOperationException("the gallery did not render its photos (not signed in?)");
            return (Median(times), TagRegex().Matches(html).Count);
        }

        var (bigMs, bigNodes) = await RenderAsync(big);
        var (smallMs, smallNodes) = await RenderAsync(small);
        return
        [
            new("gallery: first render of /vehicles/{id} with 5,000 photos", $"{bigMs:0} ms", $"50 photos: {smallMs:0} ms", $"{bigMs:0} ms", "≤ 300 ms", bigMs <= 300),
            new("gallery: DOM nodes with 5,000 photos", $"{bigNodes}", $"50 photos: {smallNodes}", $"{(double)bigNodes / smallNodes:0.00}× the 50-photo page",
                "bounded", bigNodes <= smallNodes * 1.2),
        ];
    }

    [GeneratedRegex("<[a-zA-Z]")]
    private static partial Regex TagRegex();

    /// <summary>Signs in through the login form, as a browser does, and returns a client with the cookie.</summary>
    private static async Task<HttpClient> SignInAsync(Uri baseAddress, string email)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true };
        var client = new HttpClient(handler) { BaseAddress = baseAddress };
        var form = await client.GetStringAsync("account/login");
        var input = Regex.Match(form, "<input[^>]*__RequestVerificationToken[^>]*>").Value;
        var token = WebUtility.HtmlDecode(Regex.Match(input, "value=\"([^\"]+)\"").Groups[1].Value);
        var response = await client.PostAsync("account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["_handler"] = "login", ["Input.Email"] = email, ["Input.Password"] = "Passw0rd!",
        }));
        response.EnsureSuccessStatusCode();
        return client;
    }
}
