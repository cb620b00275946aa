using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Playwright;
using Npgsql;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;
using static VehicleImages.Benchmarks.Support.Browsers;
using static VehicleImages.Benchmarks.Support.Databases;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// The cost of open galleries, measured with real Blazor circuits: Debian's Chromium driven by
/// Playwright opens <c>/vehicles/{id}</c> as a person does, so the page prerenders, starts its circuit,
/// runs the real <c>VehicleGallery</c> with its <c>LiveSubscription</c>, and the browser acknowledges
/// every render batch. (A hand-made circuit client would have to speak Blazor's private protocol —
/// descriptors, render-batch acks — and would measure that client as much as the app.)
/// </summary>
internal sealed class LiveFigure : IFigure
{
    public string Name => "live";
    public string Description => "app CPU, commits and rows read per photo analyzed with 4 galleries of a 1,500-photo vehicle open in Chromium against none open: ≤ 1.2× each";
    public bool InAll => true;
    public Need Needs => Need.Chromium | Need.PgStatStatements;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await LivePagesAsync(context.Admin, context.Work);

    /// <summary>
    /// 150 photos analyzed (fake provider, 50 ms) in a vehicle of 1,500, with 4 galleries of that vehicle
    /// open in Chromium against the same with none open; rounds alternate, each on its own database and
    /// app process. App CPU is the app process's CPU time; commits and rows read come from
    /// pg_stat_database for the round's database, read after PostgreSQL's backends have flushed their
    /// counters (they do within a second of going idle; the benchmark waits 11 s, beyond the 10 s bound).
    /// </summary>
    public static async Task<List<Row>> LivePagesAsync(string admin, string work)
    {
        const int photos = 150, vehicleSize = 1_500, pages = 4, rounds = 2;
        var files = MakeJpegs(Path.Combine(work, "live"), photos, 800, 600).Select(File.ReadAllBytes).ToList();
        await using var fake = await FakeOpenAiServer.StartForBenchmarksAsync(TimeSpan.FromMilliseconds(50));
        var (playwright, browser) = await ChromiumAsync();
        var statements = false;
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            try
            {
                await new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()", c).ExecuteNonQueryAsync();
                statements = true;
            }
            catch (PostgresException)
            {
                Console.Error.WriteLine("live: pg_stat_statements not loaded (./bench.sh live loads it); no statement breakdown");
            }
        }

        var results = new Dictionary<bool, List<(double Cpu, double Commits, double Rows, double TableRows)>> { [false] = [], [true] = [] };
        try
        {
            for (var round = 0; round < rounds * 2; round++)
            {
                var open = round % 2 == 1;
                var r = await LiveRoundAsync(admin, work, fake, browser, files, vehicleSize, open ? pages : 0, statements);
                results[open].Add(r);
                Console.Error.WriteLine($"live round {round + 1} ({(open ? $"{pages} galleries open" : "no page open")}): " +
                    $"{r.Cpu:0.00} ms CPU, {r.Commits:0.00} commits, {r.Rows:0.0} rows read ({r.TableRows:0.0} from the app's tables) per photo; load {Load()}");
            }
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }

        double Mean(bool open, Func<(double Cpu, double Commits, double Rows, double TableRows), double> f) => results[open].Average(f);
        Row Figure(string what, Func<(double Cpu, double Commits, double Rows, double TableRows), double> f, string format)
        {
            var (on, off) = (Mean(true, f), Mean(false, f));
            var ratio = on / off;
            return new($"{what} per photo, {photos} photos analyzed with {pages} galleries of a {vehicleSize:N0}-photo vehicle open (mean of {rounds} alternating rounds)",
                on.ToString(format), $"no page open: {off.ToString(format)}", $"{ratio:0.00}×", "≤ 1.2×", ratio <= 1.2);
        }

        return
        [
            Figure("live: app CPU ms", x => x.Cpu, "0.00"),
            Figure("live: database commits", x => x.Commits, "0.00"),
            Figure("live: rows read by PostgreSQL (tup_returned + tup_fetched)", x => x.Rows, "0.0"),
            Figure("live: rows read from the app's tables (pg_stat_user_tables seq_tup_read + idx_tup_fetch; no catalog reads of new backends)", x => x.TableRows, "0.0"),
        ];
    }

    private static async Task<(double Cpu, double Commits, double Rows, double TableRows)> LiveRoundAsync(string admin, string work, FakeOpenAiServer fake, IBrowser browser,
        List<byte[]> files, int vehicleSize, int pages, bool statements)
    {
        var cs = await Rig.DatabaseAsync(admin);
        var database = new NpgsqlConnectionStringBuilder(cs).Database!;
        var storage = Directory.CreateDirectory(Path.Combine(work, $"storage-live-{Guid.NewGuid():N}")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(), ["Analysis__RequestsPerMinute"] = "60000",
            ["RateLimits__UploadsPerMinute"] = "0",
        });
        await SqlAsync(cs, "UPDATE processing_control SET paused = true WHERE id = 1");
        var (client, token) = await Rig.UserAsync(app.BaseAddress, "live@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var ids = new ConcurrentBag<Guid>();
        await Parallel.ForEachAsync(files.Select((b, i) => (b, i)), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (f, _) =>
            ids.Add((await Rig.UploadAsync(client, vehicle, $"live_{f.i}.jpg", f.b)).GetProperty("imageId").GetGuid()));
        await SeedCompleteAsync(cs, vehicle, vehicleSize - files.Count);
        // So autovacuum's analyze of the fresh rows does not land in the measured window (seen: 760 against 114 rows a photo).
        await SqlAsync(cs, "VACUUM ANALYZE");

        var completed = new ConcurrentDictionary<Guid, bool>();
        var done = new TaskCompletionSource();
        var wanted = ids.ToHashSet();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        hub.On<JsonElement>("ImageStatusChanged", m =>
        {
            var id = m.GetProperty("imageId").GetGuid();
            if (m.GetProperty("processingStatus").GetString() == "complete" && wanted.Contains(id) && completed.TryAdd(id, true) && completed.Count == wanted.Count)
                done.TrySetResult();
        });
        await hub.StartAsync();

        await using var context = await SignedInContextAsync(browser, app.BaseAddress, "live@example.test");
        for (var i = 0; i < pages; i++)
            await OpenGalleryAsync(context, vehicle);

        // The app's tables alone, read over one connection opened now, so its own start-up is not in the window.
        await using var tables = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { Pooling = false }.ConnectionString);
        await tables.OpenAsync();
        async Task<long> TableRowsAsync()
        {
            await new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", tables).ExecuteNonQueryAsync();
            return (long)(await new NpgsqlCommand("SELECT coalesce(sum(seq_tup_read), 0)::bigint + coalesce(sum(idx_tup_fetch), 0)::bigint FROM pg_stat_user_tables", tables).ExecuteScalarAsync())!;
        }

        // Everything before this point (uploads, seeding, the pages' first loads) is not counted.
        await Task.Delay(TimeSpan.FromSeconds(11));
        if (statements)
            await SqlAsync(admin, "SELECT pg_stat_statements_reset()");
        var (commits0, rows0) = await DatabaseCountersAsync(admin, database);
        var tableRows0 = await TableRowsAsync();
        var cpu0 = CpuOf(app.Pid);
        await SqlAsync(cs, "UPDATE processing_control SET paused = false WHERE id = 1; SELECT pg_notify('image_jobs', 'resume')");
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        // The pages' last patches, then the backends' counters.
        await Task.Delay(TimeSpan.FromSeconds(11));
        var cpu1 = CpuOf(app.Pid);
        var (commits1, rows1) = await DatabaseCountersAsync(admin, database);
        var tableRows1 = await TableRowsAsync();
        if (statements)
            await PrintStatementsAsync(admin, database, pages == 0 ? "no page open" : $"{pages} galleries open", files.Count);
        return ((cpu1 - cpu0).TotalMilliseconds / files.Count, (double)(commits1 - commits0) / files.Count, (double)(rows1 - rows0) / files.Count,
            (double)(tableRows1 - tableRows0) / files.Count);
    }

    /// <summary>The statements that read the most rows in the round (pg_stat_statements, this database only).</summary>
    private static async Task PrintStatementsAsync(string admin, string database, string label, int photos)
    {
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        var cmd = new NpgsqlCommand("""
            SELECT calls, rows, shared_blks_hit + shared_blks_read, left(regexp_replace(query, '\s+', ' ', 'g'), 150)
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = @db)
            ORDER BY shared_blks_hit + shared_blks_read DESC LIMIT 8
            """, c);
        cmd.Parameters.AddWithValue("db", database);
        await using var r = await cmd.ExecuteReaderAsync();
        Console.Error.WriteLine($"  statements by buffers touched ({label}), per photo: calls / rows returned / buffers");
        while (await r.ReadAsync())
            Console.Error.WriteLine($"    {(double)r.GetInt64(0) / photos,7:0.00} {(double)r.GetInt64(1) / photos,8:0.0} {(double)r.GetInt64(2) / photos,8:0.0}  {r.GetString(3)}");
    }
}
