using VehicleImages.Benchmarks;

// Prints one table of figures, each against a reference measured in the same run (this machine's
// speed drifts; ratios hold). Nothing here asserts: it measures. ./bench.sh runs it.
string[] figures = ["all", "ingest", "storage", "queue", "queue-profile", "queue-settings", "telemetry", "latency", "rate", "outage", "gallery", "decode", "tus", "tus-browser", "live", "circuits"];
var only = args.Length > 0 ? args[0] : "all";
if (!figures.Contains(only))
{
    Console.Error.WriteLine($"unknown figure '{only}'; usage: VehicleImages.Benchmarks [{string.Join('|', figures)}]");
    return 2;
}

var work = Directory.CreateTempSubdirectory("vi-bench-").FullName;
// Directly under /tmp: the server may run as the postgres user, which cannot enter a private temp folder.
var clusterDir = Path.Combine(Path.GetTempPath(), $"vi-bench-pg-{Guid.NewGuid():N}"[..32]);
// pg_stat_statements loaded in the benchmark's own cluster, for `queue-profile` (statements per job) and `live` (which statements read the rows).
if (only is "queue-profile" or "live")
    Environment.SetEnvironmentVariable("PG_PRELOAD", "pg_stat_statements");
var admin = Environment.GetEnvironmentVariable("ConnectionStrings__Default") is { Length: > 0 } given
    ? given
    : await Rig.ScriptAsync("start", clusterDir, "postgres");
NetVips.Cache.Max = 0;

var rows = new List<Row>();
try
{
    if (only is "all" or "ingest")
        rows.AddRange(await Figures.IngestAndMemoryAsync(admin, work));
    if (only is "all" or "storage")
        rows.AddRange(await Figures.StorageIngestAsync(admin, work));
    if (only is "all" or "queue")
        rows.AddRange(await Figures.QueueAsync(admin));
    if (only is "queue-profile")
        await Figures.QueueProfileAsync(admin);
    if (only is "queue-settings")
        await Figures.QueueSettingsAsync(admin);
    if (only is "all" or "telemetry")
        rows.Add(await Figures.TelemetryAsync(admin));
    if (only is "all" or "latency")
        rows.Add(await Figures.LatencyAsync(admin, work));
    if (only is "all" or "rate")
        rows.Add(await Figures.RateLimitAsync(admin, work));
    if (only is "all" or "outage")
        rows.AddRange(await Figures.OutageAsync(admin, work));
    if (only is "all" or "gallery")
        rows.AddRange(await Figures.GalleryAsync(admin, work));
    if (only is "all" or "decode")
        rows.AddRange(await Figures.DecodeAsync(admin, work));
    if (only is "all" or "tus")
        rows.AddRange(await Figures.TusAsync(admin, work));
    if (only is "all" or "live")
        rows.AddRange(await Figures.LivePagesAsync(admin, work));
    if (only is "all" or "circuits")
        rows.AddRange(await Figures.CircuitMemoryAsync(admin, work));
    // Not in "all": 500 files of 12 MB through Chromium take many minutes (BENCH_TUS_BROWSER_FILES makes it fewer).
    if (only is "tus-browser")
        rows.AddRange(await Figures.TusBrowserAsync(admin, work));
}
finally
{
    if (Directory.Exists(clusterDir))
        await Rig.ScriptAsync("stop", clusterDir);
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
    try { Directory.Delete(clusterDir, recursive: true); File.Delete(clusterDir + ".password"); } catch (IOException) { }
}

Console.WriteLine();
Console.WriteLine("| figure | measured | reference | result | target | met |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (var r in rows)
    Console.WriteLine($"| {r.Figure} | {r.Measured} | {r.Reference} | {r.Result} | {r.Target} | {(r.Met ? "yes" : "NO")} |");
return 0;
