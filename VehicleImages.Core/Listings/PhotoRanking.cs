namespace VehicleImages.Core.Listings;

/// <summary>What a listing knows of one photo of the vehicle.</summary>
public sealed record ListingCandidate(
    Guid ImageId, string Status, string Category, string Angle, int? Quality, int? Width, int? Height,
    DateTimeOffset? TakenAt, DateTimeOffset CreatedAt, DateTimeOffset? AnalysedAt, bool PersonsPick = false,
    double? Sharpness = null, double? Exposure = null, bool NotStackBest = false)
{
    public long Pixels => (long)(Width ?? 0) * (Height ?? 0);
}

/// <summary>
/// The contract's one ranking of "the best photo" (shared/CONTRACT.md, "The best photo"), used by listings and stacks
/// alike: the person's pick; the higher quality_score; the sharper (focus: variance of the Laplacian, from the local
/// embedding step); the better exposed (exposure: distance from well exposed, 0 best); more pixels; the earlier taken;
/// then the earlier stored, so the order is total. A photo not yet measured ranks below a measured one on those two.
/// </summary>
public sealed class PhotoRanking : IComparer<ListingCandidate>
{
    public static readonly PhotoRanking Best = new();

    /// <summary>Negative when <paramref name="x"/> is the better photo.</summary>
    public int Compare(ListingCandidate? x, ListingCandidate? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return 1;
        if (y is null) return -1;
        int c;
        if ((c = y.PersonsPick.CompareTo(x.PersonsPick)) != 0) return c;
        if ((c = (y.Quality ?? 0).CompareTo(x.Quality ?? 0)) != 0) return c;
        if ((c = (y.Sharpness ?? 0).CompareTo(x.Sharpness ?? 0)) != 0) return c;
        if ((c = (x.Exposure ?? double.MaxValue).CompareTo(y.Exposure ?? double.MaxValue)) != 0) return c;
        if ((c = y.Pixels.CompareTo(x.Pixels)) != 0) return c;
        if ((c = (x.TakenAt ?? DateTimeOffset.MaxValue).CompareTo(y.TakenAt ?? DateTimeOffset.MaxValue)) != 0) return c;
        if ((c = x.CreatedAt.CompareTo(y.CreatedAt)) != 0) return c;
        return x.ImageId.CompareTo(y.ImageId);
    }
}
