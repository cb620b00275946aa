namespace VehicleImages.Core.Analysis;

/// <summary>The three tiers of an analysis, in the order they run.</summary>
public enum Tier
{
    /// <summary>Category, angle and quality, on every photo.</summary>
    Classification = 1,

    /// <summary>Parts and components with their condition, when quality is good enough.</summary>
    Components = 2,

    /// <summary>An expert reading, on sharp high-resolution photos only.</summary>
    Expert = 3,
}

/// <summary>
/// The one definition of how tiers are named in ai_scan_metadata (the contract's keys) and which
/// variant of the photo each one sees. Keys are constants so SQL can use them too.
/// </summary>
public static class Tiers
{
    public const string ClassificationKey = "tier_1_analysis";
    public const string ComponentsKey = "tier_2_analysis";
    public const string ExpertKey = "tier_3_analysis";

    /// <summary>Beside the tiers: provider calls and tokens per tier.</summary>
    public const string UsageKey = "usage";

    public static IReadOnlyList<Tier> All { get; } = [Tier.Classification, Tier.Components, Tier.Expert];

    public static string Key(this Tier tier) => tier switch
    {
        Tier.Classification => ClassificationKey,
        Tier.Components => ComponentsKey,
        Tier.Expert => ExpertKey,
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static int Number(this Tier tier) => (int)tier;

    /// <summary>The variant the tier looks at: the medium one is enough to classify; parts and condition need the large one.</summary>
    public static string Variant(this Tier tier) => tier == Tier.Classification ? "medium" : "large";
}
