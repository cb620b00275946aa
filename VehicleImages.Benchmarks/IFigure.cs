namespace VehicleImages.Benchmarks;

/// <summary>
/// One figure of <c>./bench.sh</c>: a measurement beside a reference taken in the same run. Adding a figure is one
/// class under <c>Figures/</c> and one line in <see cref="FigureRegistry"/>; the list, the usage text and what
/// bench.sh installs all come from there.
/// </summary>
public interface IFigure
{
    /// <summary>What <c>./bench.sh NAME</c> runs: lower case, words joined by '-'.</summary>
    string Name { get; }

    /// <summary>One line for <c>./bench.sh --list</c>: what is measured, against what, and the target.</summary>
    string Description { get; }

    /// <summary>Whether <c>./bench.sh</c> (all) runs it; tuning aids and figures of many minutes are run by name only.</summary>
    bool InAll { get; }

    /// <summary>What the machine must have besides .NET and PostgreSQL; bench.sh installs it (<c>--needs NAME</c>).</summary>
    Need Needs { get; }

    /// <summary>Measures; the rows go to the result lines and the table. Tuning aids print their own tables and return none.</summary>
    Task<IReadOnlyList<Row>> RunAsync(FigureContext context);
}

/// <summary>What a figure needs installed. The names <see cref="FigureRegistry.NeedNames"/> prints are bench.sh's.</summary>
[Flags]
public enum Need
{
    None = 0,
    /// <summary>vipsthumbnail (Debian's libvips-tools): the ingest references.</summary>
    VipsThumbnail = 1,
    /// <summary>s3rver from npm (scripts/s3): the S3-compatible server of the storage figure.</summary>
    S3rver = 2,
    /// <summary>Debian's Chromium at /usr/bin/chromium, driven through Playwright.</summary>
    Chromium = 4,
    /// <summary>pg_stat_statements preloaded in the benchmark's cluster (it ships with the PostgreSQL server package).</summary>
    PgStatStatements = 8,
    /// <summary>Info-ZIP's zip (Debian's zip): the export figure's reference, <c>zip -0</c>.</summary>
    Zip = 16,
}

/// <summary>The benchmark cluster's admin connection string and a scratch folder removed after the run.</summary>
public sealed record FigureContext(string Admin, string Work);
