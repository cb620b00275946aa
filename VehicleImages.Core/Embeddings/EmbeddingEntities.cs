namespace VehicleImages.Core.Embeddings;

/// <summary>A photo's local measures (table image_embeddings): the ResNet18 embedding, focus and exposure.</summary>
public sealed class ImageEmbedding
{
    public Guid ImageId { get; set; }

    /// <summary>L2-normalised, <see cref="ImageEmbedder.Dimensions"/> values (real[]).</summary>
    public required float[] Vector { get; set; }

    /// <summary>Variance of the Laplacian of the medium variant's luminance: higher is sharper.</summary>
    public double Focus { get; set; }

    /// <summary>How far from well exposed: |mean − 118| / 118 plus 3 × the clipped fraction; 0 is best.</summary>
    public double Exposure { get; set; }

    public required string Model { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

/// <summary>A stack of near-duplicates within one vehicle (table image_stacks).</summary>
public sealed class ImageStack
{
    public Guid Id { get; set; }
    public Guid VehicleId { get; set; }

    /// <summary>The person's pick for the stack's best, when they made one.</summary>
    public Guid? PickedImageId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A photo's place among stacks (table image_stack_members): in a stack, or standing alone because a person split it
/// out (<see cref="StandsAlone"/>: never stacked again automatically). A photo with no row was never stacked.
/// </summary>
public sealed class ImageStackMember
{
    public Guid ImageId { get; set; }
    public Guid? StackId { get; set; }
    public bool StandsAlone { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A category and angle suggested from the nearest of the person's sorted photos; <see cref="Basis"/> says from what.</summary>
public sealed record Suggestion(string Category, string Angle, double Confidence, string Basis);

/// <summary>
/// The stored suggestion for a photo no person has categorized (table image_suggestions), from its nearest sorted
/// photos of the same account; recomputed when the person sorts more, without re-analysis.
/// </summary>
public sealed class ImageSuggestion
{
    public Guid ImageId { get; set; }
    public required string Category { get; set; }
    public required string Angle { get; set; }
    public double Confidence { get; set; }

    /// <summary>How many sorted photos were close enough to vote.</summary>
    public int Neighbours { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
