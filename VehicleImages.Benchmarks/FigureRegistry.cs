using VehicleImages.Benchmarks.Figures;

namespace VehicleImages.Benchmarks;

/// <summary>Every figure, once, in the order <c>./bench.sh</c> (all) runs them. A new figure is one more line here.</summary>
public static class FigureRegistry
{
    public static IReadOnlyList<IFigure> All { get; } =
    [
        new IngestFigure(),
        new StorageFigure(),
        new QueueFigure(),
        new QueueProfileFigure(),
        new QueueSettingsFigure(),
        new TelemetryFigure(),
        new LatencyFigure(),
        new RateFigure(),
        new OutageFigure(),
        new GalleryFigure(),
        new DecodeFigure(),
        new TusFigure(),
        new TusBucketFigure(),
        new LiveFigure(),
        new CircuitsFigure(),
        new TusBrowserFigure(),
        new ExportFigure(),
        new ShareFigure(),
        new ExportPrivacyFigure(),
        new ExportZip64Figure(),
        new EmbeddingsFigure(),
    ];

    /// <summary>The figures a command-line name stands for: "all", or one figure by name; null for an unknown name.</summary>
    public static IReadOnlyList<IFigure>? Select(string name) => name == "all"
        ? [.. All.Where(f => f.InAll)]
        : All.FirstOrDefault(f => f.Name == name) is { } figure ? [figure] : null;

    /// <summary>The names bench.sh reads from <c>--needs</c>, one a line.</summary>
    public static IEnumerable<string> NeedNames(Need needs)
    {
        if (needs.HasFlag(Need.VipsThumbnail))
            yield return "vipsthumbnail";
        if (needs.HasFlag(Need.S3rver))
            yield return "s3rver";
        if (needs.HasFlag(Need.Chromium))
            yield return "chromium";
        if (needs.HasFlag(Need.PgStatStatements))
            yield return "pg_stat_statements";
        if (needs.HasFlag(Need.Zip))
            yield return "zip";
    }

    /// <summary>What <c>./bench.sh --list</c> prints, and an unknown name's answer.</summary>
    public static void WriteList(TextWriter to)
    {
        to.WriteLine("usage: ./bench.sh [all | NAME | --list | --needs NAME]");
        var width = All.Max(f => f.Name.Length);
        to.WriteLine($"  {"all".PadRight(width)}    every figure marked *, in this order (10 minutes or more on 2 cores)");
        foreach (var f in All)
        {
            var needs = string.Join(", ", NeedNames(f.Needs));
            to.WriteLine($"  {f.Name.PadRight(width)} {(f.InAll ? '*' : ' ')}  {f.Description}{(needs.Length > 0 ? $" [needs {needs}]" : "")}");
        }
    }
}
