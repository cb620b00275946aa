using VehicleImages.Benchmarks;

// Prints one table of figures, each against a reference measured in the same run (this machine's
// speed drifts; ratios hold). Nothing here asserts: it measures. ./bench.sh runs it.
// As each figure finishes, each of its rows also goes to stdout as one tab-separated line for scripts
// (Row.ResultLine): result, figure, row, measured, reference, ratio, target, met (yes or no).
// --list prints the figures; --needs NAME what bench.sh must install for them (FigureRegistry).
switch (args)
{
    case ["--list"]:
        FigureRegistry.WriteList(Console.Out);
        return 0;
    case ["--needs", var name]:
        if (FigureRegistry.Select(name) is not { } needed)
            return Unknown(name);
        foreach (var need in FigureRegistry.NeedNames(needed.Aggregate(Need.None, (all, f) => all | f.Needs)))
            Console.WriteLine(need);
        return 0;
}

var only = args.Length > 0 ? args[0] : "all";
if (FigureRegistry.Select(only) is not { } selected)
    return Unknown(only);

var work = Directory.CreateTempSubdirectory("vi-bench-").FullName;
// Directly under /tmp: the server may run as the postgres user, which cannot enter a private temp folder.
var clusterDir = Path.Combine(Path.GetTempPath(), $"vi-bench-pg-{Guid.NewGuid():N}"[..32]);
// pg_stat_statements loaded in the benchmark's own cluster for a figure that reads it (`queue-profile`: statements
// per job; `live`: which statements read the rows), only when that figure runs alone: in `all`, every queue drain
// would pay for its bookkeeping.
if (selected is [{ Needs: var needs }] && needs.HasFlag(Need.PgStatStatements))
    Environment.SetEnvironmentVariable("PG_PRELOAD", "pg_stat_statements");
var admin = Environment.GetEnvironmentVariable("ConnectionStrings__Default") is { Length: > 0 } given
    ? given
    : await Rig.ScriptAsync("start", clusterDir, "postgres");
NetVips.Cache.Max = 0;

var rows = new List<Row>();
try
{
    var context = new FigureContext(admin, work);
    foreach (var figure in selected)
    {
        var figureRows = await figure.RunAsync(context);
        foreach (var row in figureRows)
            Console.WriteLine(row.ResultLine(figure.Name));
        rows.AddRange(figureRows);
    }
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
    Console.WriteLine(r.TableLine());
return 0;

static int Unknown(string name)
{
    Console.Error.WriteLine($"unknown figure '{name}'");
    FigureRegistry.WriteList(Console.Error);
    return 2;
}
