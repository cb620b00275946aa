using System.Diagnostics;
using Npgsql;
using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Benchmarks.Support;

/// <summary>
/// Drains of 10,000-odd jobs: our queue (the whole app hosted in this process, a no-op analyzer) and the bare
/// SKIP LOCKED tables it is compared with. Used by the queue, queue-profile, queue-settings and telemetry figures.
/// </summary>
internal static class Queues
{
    public static async Task<double> OurQueueAsync(string admin, int jobs, Dictionary<string, string?>? extra = null, QueueProfile? profile = null,
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
                ["Logging:LogLevel:Default"] = "Warning", ["DataProtection:CertificatePath"] = TestCertificate.Path,
                ["Privacy:LocalDetector"] = "false", ["Embeddings:Enabled"] = "false",
            });
            b.Configuration.AddInMemoryCollection(extra ?? []);
            b.Services.AddSingleton<VehicleImages.Core.Analysis.IImageAnalyzer, NoOpAnalyzer>();
        });
        await VehicleImages.Web.VehicleImagesApp.StartAsync(app);
        var queue = app.Services.GetRequiredService<VehicleImages.Core.Processing.Admin.ProcessingCommands>();
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
    public static void Mark(string name)
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
    public static async Task<double> BareQueueAsync(string admin, int jobs, int batch, QueueProfile? profile = null)
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

    public sealed class NoOpAnalyzer : VehicleImages.Core.Analysis.IImageAnalyzer
    {
        public Task<VehicleImages.Core.Analysis.AnalysisResult> AnalyzeAsync(VehicleImages.Core.Analysis.AnalysisRequest request,
            VehicleImages.Core.Analysis.ITierResults results, CancellationToken cancellationToken) =>
            Task.FromResult(new VehicleImages.Core.Analysis.AnalysisResult(new System.Text.Json.Nodes.JsonObject(), null, [], 0));
    }
}
