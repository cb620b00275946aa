namespace VehicleImages.Core.Embeddings;

/// <summary>
/// <c>Embeddings__Enabled</c> (default true): false turns the local embedding step and its backfill off (no stacks, no
/// suggestions, no focus or exposure for the ranking) — for a machine too small for the model, and for the benchmark's
/// "without the local steps" run.
/// </summary>
public sealed class EmbeddingOptions
{
    public const string SectionName = "Embeddings";

    public bool Enabled { get; set; } = true;
}
