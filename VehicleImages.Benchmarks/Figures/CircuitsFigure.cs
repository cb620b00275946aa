using System.Diagnostics.Tracing;
using System.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Browsers;
using static VehicleImages.Benchmarks.Support.Databases;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class CircuitsFigure : IFigure
{
    public string Name => "circuits";
    public string Description => "memory per open gallery circuit of a 5,000-photo vehicle (RSS delta over 10 circuits after 40 warm ones, after an aggressive GC): ≤ 2 MB";
    public bool InAll => true;
    public Need Needs => Need.Chromium;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await CircuitMemoryAsync(context.Admin, context.Work);

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
    private static async Task<(long Rss, long Heap)> SettledRssAsync(AppProcess app)
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
    private static async Task<(long Rss, long Heap)> SqueezedRssAsync(AppProcess app, string trigger)
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
    private static void Smaps(AppProcess app, string name)
    {
        if (Environment.GetEnvironmentVariable("BENCH_SMAPS_DIR") is { Length: > 0 } dir)
            File.Copy($"/proc/{app.Pid}/smaps", Path.Combine(dir, name + ".smaps"), overwrite: true);
    }

    /// <summary>
    /// Diagnosis only: with BENCH_GCDUMP_DIR set, a heap snapshot of the app (dotnet-gcdump on the PATH, taken after
    /// the RSS reading) at each reading, to compare with <c>dotnet-gcdump report</c>.
    /// </summary>
    private static void GcDump(AppProcess app, string name)
    {
        if (Environment.GetEnvironmentVariable("BENCH_GCDUMP_DIR") is not { Length: > 0 } dir)
            return;
        using var dump = Process.Start(new ProcessStartInfo("dotnet-gcdump", ["collect", "-p", app.Pid.ToString(), "-o", Path.Combine(dir, name + ".gcdump")])
            { RedirectStandardOutput = true })!;
        dump.StandardOutput.ReadToEnd();
        dump.WaitForExit();
    }
}
