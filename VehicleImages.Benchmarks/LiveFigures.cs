using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Playwright;
using Npgsql;

namespace VehicleImages.Benchmarks;

/// <summary>
/// The cost of open galleries, measured with real Blazor circuits: Debian's Chromium driven by
/// Playwright opens <c>/vehicles/{id}</c> as a person does, so the page prerenders, starts its circuit,
/// runs the real <c>VehicleGallery</c> with its <c>LiveSubscription</c>, and the browser acknowledges
/// every render batch. (A hand-made circuit client would have to speak Blazor's private protocol —
/// descriptors, render-batch acks — and would measure that client as much as the app.)
/// </summary>
public static partial class Figures
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private static async Task<(IPlaywright Playwright, IBrowser Browser)> ChromiumAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"the live figures need Chromium at {ChromiumPath} (apt-get install chromium)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                // Background tabs keep their timers and sockets running, as the open tabs of a person do.
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"],
        });
        return (playwright, browser);
    }

    /// <summary>A browser context signed in through the login form.</summary>
    private static async Task<IBrowserContext> SignedInContextAsync(IBrowser browser, Uri baseAddress, string email)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("account/login");
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync("Passw0rd!");
        await page.Locator("#sign-in").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/account/login"));
        await page.CloseAsync();
        return context;
    }

    /// <summary>Opens a gallery and waits until its circuit is interactive (gallery.js marks the uploader ready).</summary>
    private static async Task<IPage> OpenGalleryAsync(IBrowserContext context, Guid vehicle)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync($"vehicles/{vehicle}");
        await page.Locator("#upload-root[data-ready=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        return page;
    }

    private static async Task SeedCompleteAsync(string cs, Guid vehicle, int count)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var cmd = new NpgsqlCommand("""
            INSERT INTO vehicle_images (vehicle_id, user_id, file_name, processing_status, ai_scan_metadata)
            SELECT v.id, v.user_id, 'IMG_' || g || '.jpg', 'complete', '{"tier_1_analysis": {}}'
            FROM vehicles v, generate_series(1, @n) g WHERE v.id = @v
            """, c);
        cmd.Parameters.AddWithValue("v", vehicle);
        cmd.Parameters.AddWithValue("n", count);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task SqlAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await new NpgsqlCommand(sql, c).ExecuteNonQueryAsync();
    }

    private static TimeSpan CpuOf(int pid)
    {
        using var p = Process.GetProcessById(pid);
        return p.TotalProcessorTime;
    }

    /// <summary>Commits and rows read (tup_returned + tup_fetched) of one database, on a fresh connection (no cached snapshot).</summary>
    private static async Task<(long Commits, long Rows)> DatabaseCountersAsync(string admin, string database)
    {
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        var cmd = new NpgsqlCommand("SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database WHERE datname = @db", c);
        cmd.Parameters.AddWithValue("db", database);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetInt64(1));
    }

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
        await using var fake = await FakeProvider.StartAsync(TimeSpan.FromMilliseconds(50));
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

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static async Task<(double Cpu, double Commits, double Rows, double TableRows)> LiveRoundAsync(string admin, string work, FakeProvider fake, IBrowser browser,
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

    /// <summary>
    /// Memory per open gallery circuit: the app's RSS with 40 warm galleries open, then with 10 more open
    /// (each waited until interactive), the difference divided by 10; for a 5,000-photo vehicle beside a
    /// 50-photo one, each in a fresh app process on the same database, alternating.
    /// <list type="bullet">
    /// <item>40 warm galleries, not 10: a method the page calls once per circuit reaches the JIT's tier-1 threshold
    /// (30 calls) only after 30 circuits, and each tier-1 compile mallocs and frees up to 25 MB (heaptrack,
    /// libclrjit) that glibc keeps; with 10 warm ones that one-time cost landed on the 10 measured circuits.</item>
    /// <item>Each reading of record follows an aggressive, compacting full GC run in the app by a startup hook
    /// (<see cref="StartupHook"/>), which returns the GC's free regions to the OS. After ordinary full GCs the GC
    /// keeps up to 16 MB of regions for its next allocations, and whether a reading caught them moved the delta
    /// of 10 circuits by ±1.6 MB a circuit (smaps: the GC's range, not the heap, grew 13–24 MB between readings
    /// whose heaps differed by 1–7 MB). That reading (a full blocking GC induced over EventPipe, as dotnet-gcdump
    /// does, repeated until the RSS stops falling) is printed beside it.</item>
    /// </list>
    /// Diagnosis: BENCH_SMAPS_DIR keeps /proc/{pid}/smaps at each reading, BENCH_HEAPTRACK_DIR attaches heaptrack for
    /// the measured circuits, BENCH_GCDUMP_DIR takes heap snapshots, BENCH_APP_ENV="K=V …" adds app environment,
    /// BENCH_CIRCUITS_WARMUP changes the 40.
    /// </summary>
    public static async Task<List<Row>> CircuitMemoryAsync(string admin, string work)
    {
        const int circuits = 10;
        var warmUp = int.TryParse(Environment.GetEnvironmentVariable("BENCH_CIRCUITS_WARMUP"), out var w) ? w : 40;
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-circuits")).FullName;
        var settings = new Dictionary<string, string> { ["Processing__Workers"] = "0", ["RateLimits__AuthPerMinute"] = "0" };
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_APP_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            settings[pair.Split('=', 2)[0]] = pair.Split('=', 2)[1];
        var trigger = Path.Combine(work, "circuits-gc-trigger");
        var appSettings = new Dictionary<string, string>(settings)
        {
            ["DOTNET_STARTUP_HOOKS"] = typeof(StartupHook).Assembly.Location,
            ["BENCH_GC_TRIGGER"] = trigger,
        };
        Guid big, small;
        await using (var seed = await Rig.StartAppAsync(cs, storage, settings))
        {
            var (api, _) = await Rig.UserAsync(seed.BaseAddress, "circuits@example.test");
            big = await Rig.VehicleAsync(api);
            small = await Rig.VehicleAsync(api);
        }

        await SeedCompleteAsync(cs, big, 5_000);
        await SeedCompleteAsync(cs, small, 50);

        var (playwright, browser) = await ChromiumAsync();
        var perCircuit = new Dictionary<Guid, List<double>> { [big] = [], [small] = [] };
        var perCircuitHeap = new Dictionary<Guid, List<double>> { [big] = [], [small] = [] };
        var perCircuitSqueezed = new Dictionary<Guid, List<double>> { [big] = [], [small] = [] };
        var perCircuitLive = new Dictionary<Guid, List<double>> { [big] = [], [small] = [] };
        var round = 0;
        try
        {
            foreach (var vehicle in new[] { big, small, big, small })
            {
                await using var app = await Rig.StartAppAsync(cs, storage, appSettings);
                await using var context = await SignedInContextAsync(browser, app.BaseAddress, "circuits@example.test");
                // Warm-up: 40 circuits opened first and kept open, so what the first circuits cost once
                // (JIT and its tier-1 recompiles, pools, caches) is not counted against the next 10.
                for (var i = 0; i < warmUp; i++)
                    await OpenGalleryAsync(context, vehicle);
                var (control, _) = await SettledRssAsync(app);
                var (before, heapBefore) = await SettledRssAsync(app);
                var (controlSqueezed, _) = await SqueezedRssAsync(app, trigger);
                var (beforeSqueezed, liveBefore) = await SqueezedRssAsync(app, trigger);
                var statusBefore = ProcStatus(app.Pid);
                Console.Error.WriteLine($"  control: RSS {Mib(control)} → {Mib(before)} with no circuit opened between the two readings; after aggressive GCs {Mib(controlSqueezed)} → {Mib(beforeSqueezed)}");
                GcDump(app, $"{round}-before");
                Smaps(app, $"{round}-before");
                using var heaptrack = Environment.GetEnvironmentVariable("BENCH_HEAPTRACK_DIR") is { Length: > 0 } htDir
                    ? Process.Start(new ProcessStartInfo("heaptrack", ["-p", app.Pid.ToString()]) { WorkingDirectory = htDir })
                    : null;
                if (heaptrack is not null)
                    await Task.Delay(TimeSpan.FromSeconds(10));
                for (var i = 0; i < circuits; i++)
                    await OpenGalleryAsync(context, vehicle);
                var (after, heapAfter) = await SettledRssAsync(app);
                var (afterSqueezed, liveAfter) = await SqueezedRssAsync(app, trigger);
                var statusAfter = ProcStatus(app.Pid);
                Console.Error.WriteLine($"  after aggressive GCs: RSS {Mib(beforeSqueezed)} → {Mib(afterSqueezed)}, {(afterSqueezed - beforeSqueezed) / circuits / 1024.0:0} KiB per circuit " +
                    $"(live heap {Mib(liveBefore)} → {Mib(liveAfter)}, {(liveAfter - liveBefore) / circuits / 1024.0:0} KiB per circuit)");
                Smaps(app, $"{round}-after");
                GcDump(app, $"{round++}-after");
                perCircuit[vehicle].Add((double)(after - before) / circuits);
                perCircuitHeap[vehicle].Add((double)(heapAfter - heapBefore) / circuits);
                perCircuitSqueezed[vehicle].Add((double)(afterSqueezed - beforeSqueezed) / circuits);
                perCircuitLive[vehicle].Add((double)(liveAfter - liveBefore) / circuits);
                Console.Error.WriteLine($"circuits ({(vehicle == big ? "5,000" : "50")} photos): RSS {Mib(before)} → {Mib(after)}, " +
                    $"{(after - before) / circuits / 1024.0:0} KiB per circuit (managed heap {Mib(heapBefore)} → {Mib(heapAfter)}, " +
                    $"{(heapAfter - heapBefore) / circuits / 1024.0:0} KiB per circuit); load {Load()}");
                // Where the RSS went: anonymous memory (GC heap, native allocations, stacks) or mapped files (code
                // pages touched), and the threads (each a stack) the runtime added meanwhile.
                Console.Error.WriteLine($"  of the RSS delta: RssAnon {(statusAfter["RssAnon"] - statusBefore["RssAnon"]) / circuits:0} KiB per circuit, " +
                    $"RssFile {(statusAfter["RssFile"] - statusBefore["RssFile"]) / circuits:0} KiB per circuit; threads {statusBefore["Threads"]} → {statusAfter["Threads"]}");
            }
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }

        var (b, s) = (perCircuitSqueezed[big].Average(), perCircuitSqueezed[small].Average());
        var (lb, ls) = (perCircuitLive[big].Average(), perCircuitLive[small].Average());
        var (pb, ps) = (perCircuit[big].Average(), perCircuit[small].Average());
        var (hb, hs) = (perCircuitHeap[big].Average(), perCircuitHeap[small].Average());
        return
        [
            new($"memory per open gallery circuit, 5,000-photo vehicle (RSS delta over {circuits} circuits / {circuits} after {warmUp} warm ones, each reading after an aggressive full GC, mean of 2 rounds)",
                $"{b / 1024 / 1024:0.00} MiB", $"50-photo vehicle: {s / 1024 / 1024:0.00} MiB", $"{b / 1024 / 1024:0.00} MiB", "≤ 2 MB", b <= 2_000_000),
            new("  of which the live managed heap after that GC, per circuit (5,000 / 50 photos)",
                $"{lb / 1024 / 1024:0.00} MiB", $"50-photo vehicle: {ls / 1024 / 1024:0.00} MiB", $"{lb / 1024 / 1024:0.00} MiB", "information", true),
            new("  the same RSS delta read after ordinary full GCs (the regions the GC keeps for its next allocations included)",
                $"{pb / 1024 / 1024:0.00} MiB", $"50-photo vehicle: {ps / 1024 / 1024:0.00} MiB (heap {hb / 1024 / 1024:0.00} / {hs / 1024 / 1024:0.00} MiB)", $"{pb / 1024 / 1024:0.00} MiB", "information", true),
        ];
    }

    /// <summary>VmRSS of the app after full GCs induced over EventPipe until it stops falling, and the GC heap the last one left.</summary>
    private static async Task<(long Rss, long Heap)> SettledRssAsync(Rig.AppProcess app)
    {
        // The GC gives back the regions it no longer needs a step at a time, at each collection, so the RSS keeps
        // falling for several collections after activity stops: collect until it moves less than 256 KiB.
        long heap = 0, rss = app.RssBytes();
        for (var i = 1; i <= 12; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            heap = InduceGc(app.Pid);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = app.RssBytes();
            var settled = i >= 2 && Math.Abs(now - rss) < 256 * 1024;
            rss = now;
            if (settled)
            {
                Console.Error.WriteLine($"  settled after {i} collections");
                break;
            }
        }

        return (rss, heap);
    }

    /// <summary>VmRSS after the app's startup hook ran an aggressive, compacting full GC, and the heap that GC left.</summary>
    private static async Task<(long Rss, long Heap)> SqueezedRssAsync(Rig.AppProcess app, string trigger)
    {
        var done = trigger + ".done";
        File.Delete(done);
        await File.WriteAllTextAsync(trigger, "");
        for (var i = 0; i < 600 && !File.Exists(done); i++)
            await Task.Delay(100);
        if (!File.Exists(done))
            throw new InvalidOperationException("the app did not answer the GC trigger in 60 s: is the startup hook loaded (DOTNET_STARTUP_HOOKS)?");
        await Task.Delay(500);
        var heap = long.Parse(await File.ReadAllTextAsync(done));
        File.Delete(done);
        await Task.Delay(TimeSpan.FromSeconds(1));
        return (app.RssBytes(), heap);
    }

    /// <summary>RssAnon and RssFile (KiB) and Threads of a process, from /proc/{pid}/status.</summary>
    private static Dictionary<string, long> ProcStatus(int pid)
    {
        var values = new Dictionary<string, long>();
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            var parts = line.Split([':', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts is [var key and ("RssAnon" or "RssFile" or "Threads"), var value, ..])
                values[key] = long.Parse(value);
        }

        return values;
    }

    /// <summary>
    /// Enabling the runtime provider's GCHeapCollect keyword makes the target run a full blocking GC (what
    /// dotnet-gcdump does); the GCHeapStats event that GC raises gives the managed heap it left (all generations,
    /// large and pinned object heaps).
    /// </summary>
    private static long InduceGc(int pid)
    {
        const long gcHeapCollect = 0x800000, gc = 0x1;
        var client = new DiagnosticsClient(pid);
        using var session = client.StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, gcHeapCollect | gc)], requestRundown: false);
        long heap = 0;
        var drain = Task.Run(() =>
        {
            using var source = new Microsoft.Diagnostics.Tracing.EventPipeEventSource(session.EventStream);
            source.Clr.GCHeapStats += e => heap = e.TotalHeapSize;
            source.Process();
        });
        Thread.Sleep(1500);
        session.Stop();
        drain.Wait(TimeSpan.FromSeconds(10));
        return heap;
    }

    /// <summary>Diagnosis only: with BENCH_SMAPS_DIR set, a copy of the app's /proc/{pid}/smaps at each reading.</summary>
    private static void Smaps(Rig.AppProcess app, string name)
    {
        if (Environment.GetEnvironmentVariable("BENCH_SMAPS_DIR") is { Length: > 0 } dir)
            File.Copy($"/proc/{app.Pid}/smaps", Path.Combine(dir, name + ".smaps"), overwrite: true);
    }

    /// <summary>
    /// Diagnosis only: with BENCH_GCDUMP_DIR set, a heap snapshot of the app (dotnet-gcdump on the PATH, taken after
    /// the RSS reading) at each reading, to compare with <c>dotnet-gcdump report</c>.
    /// </summary>
    private static void GcDump(Rig.AppProcess app, string name)
    {
        if (Environment.GetEnvironmentVariable("BENCH_GCDUMP_DIR") is not { Length: > 0 } dir)
            return;
        using var dump = Process.Start(new ProcessStartInfo("dotnet-gcdump", ["collect", "-p", app.Pid.ToString(), "-o", Path.Combine(dir, name + ".gcdump")])
            { RedirectStandardOutput = true })!;
        dump.StandardOutput.ReadToEnd();
        dump.WaitForExit();
    }
}
