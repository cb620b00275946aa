namespace VehicleImages.Benchmarks;

/// <summary>One line of the figures table: what was measured, the reference measured beside it, the ratio and the target.</summary>
public sealed record Row(string Figure, string Measured, string Reference, string Result, string Target, bool Met)
{
    /// <summary>
    /// The row for scripts, printed as soon as its figure finishes:
    /// <c>result␉figure␉row␉measured␉reference␉ratio␉target␉met</c>, tab-separated, <c>met</c> being yes or no.
    /// </summary>
    public string ResultLine(string figure) =>
        string.Join('\t', new[] { "result", figure, Figure, Measured, Reference, Result, Target, Met ? "yes" : "no" }.Select(Field));

    /// <summary>The markdown table's row (unchanged from before the result lines).</summary>
    public string TableLine() => $"| {Figure} | {Measured} | {Reference} | {Result} | {Target} | {(Met ? "yes" : "NO")} |";

    // A tab or line break inside a value would break the line into wrong fields.
    private static string Field(string value) => value.ReplaceLineEndings(" ").Replace('\t', ' ');
}
