using System.Globalization;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Embeddings;

public enum SuggestionAccept { Accepted, NotFound, NoSuggestion }

/// <summary>
/// The Local analyzer that learns: a photo no person has categorized gets the category and angle its nearest sorted
/// photos of the same account have (k-nearest neighbours over the embeddings, at most <see cref="K"/>, each within
/// <see cref="Cutoff"/>, voting with weight 1 − distance; the confidence is the winner's share of the votes). No sorted
/// photo close enough: no suggestion, the photo stays unknown. Suggestions are stored (image_suggestions) and recomputed
/// for the account's unsorted photos whenever the person sorts one, and for a photo when it is measured.
/// </summary>
public sealed class SuggestionService(IDbContextFactory<VehicleImagesDbContext> contexts)
{
    public const int K = 5;

    /// <summary>Cosine distance beyond which a sorted photo is not a neighbour (measured in SuggestionAccuracyTests).</summary>
    public const double Cutoff = 0.30;

    public sealed record Sorted(string Category, string Angle, float[] Vector);

    /// <summary>The suggestion for one embedding among sorted examples, or null when none is close enough.</summary>
    public static (string Category, string Angle, double Confidence, int Neighbours)? Suggest(float[] vector, IReadOnlyList<Sorted> sorted,
        double cutoff = Cutoff, int k = K)
    {
        var near = sorted.Select(s => (s, d: ImageEmbedder.Distance(vector, s.Vector)))
            .Where(x => x.d <= cutoff).OrderBy(x => x.d).Take(k).ToList();
        if (near.Count == 0)
            return null;
        var votes = near.GroupBy(x => (x.s.Category, x.s.Angle))
            .Select(g => (g.Key, Weight: g.Sum(x => 1 - x.d), Count: g.Count(), Nearest: g.Min(x => x.d)))
            .OrderByDescending(v => v.Weight).ThenBy(v => v.Nearest).ToList();
        var total = votes.Sum(v => v.Weight);
        var winner = votes[0];
        return (winner.Key.Category, winner.Key.Angle, Math.Clamp(winner.Weight / total, 0, 1), near.Count);
    }

    public static string Basis(int neighbours) => neighbours == 1
        ? "1 similar photo you sorted"
        : string.Create(CultureInfo.InvariantCulture, $"{neighbours} similar photos you sorted");

    /// <summary>Recomputes the suggestions of the account's unsorted photos (all of them, or only <paramref name="only"/>).</summary>
    public async Task<int> RefreshAsync(Guid userId, IReadOnlyCollection<Guid>? only, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var measured = await (
                from e in db.ImageEmbeddings.AsNoTracking()
                join i in db.VehicleImages on e.ImageId equals i.Id
                where i.UserId == userId
                select new
                {
                    i.Id,
                    e.Vector,
                    Person = db.VehicleImageAngles.Where(a => a.ImageId == i.Id && a.Source == AngleSource.User)
                        .Select(a => new { a.Category, a.Angle }).FirstOrDefault(),
                })
            // One photo's refresh reads the sorted photos and that photo, not the whole account.
            .Where(m => only == null || only.Contains(m.Id) || m.Person != null)
            .ToListAsync(cancellationToken);
        var sorted = measured.Where(m => m.Person is not null && m.Person.Category != Taxonomy.Unknown)
            .Select(m => new Sorted(m.Person!.Category, m.Person.Angle, m.Vector)).ToList();
        var unsorted = measured.Where(m => m.Person is null && (only is null || only.Contains(m.Id))).ToList();
        var changed = 0;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        // A sorted photo needs no suggestion.
        var sortedIds = measured.Where(m => m.Person is not null).Select(m => m.Id).ToList();
        if (only is null)
            await db.ImageSuggestions.Where(s => sortedIds.Contains(s.ImageId)).ExecuteDeleteAsync(cancellationToken);
        foreach (var photo in unsorted)
        {
            var suggestion = Suggest(photo.Vector, sorted);
            if (suggestion is not { } s)
            {
                changed += await db.ImageSuggestions.Where(x => x.ImageId == photo.Id).ExecuteDeleteAsync(cancellationToken);
                continue;
            }
            changed += await db.Database.ExecuteSqlAsync($"""
                INSERT INTO image_suggestions (image_id, category, angle, confidence, neighbours)
                SELECT {photo.Id}, {s.Category}, {s.Angle}, {s.Confidence}, {s.Neighbours}
                WHERE EXISTS (SELECT 1 FROM vehicle_images WHERE id = {photo.Id})
                ON CONFLICT (image_id) DO UPDATE SET category = EXCLUDED.category, angle = EXCLUDED.angle,
                    confidence = EXCLUDED.confidence, neighbours = EXCLUDED.neighbours, updated_at = now()
                WHERE (image_suggestions.category, image_suggestions.angle, image_suggestions.confidence, image_suggestions.neighbours)
                      IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.angle, EXCLUDED.confidence, EXCLUDED.neighbours)
                """, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return changed;
    }

    /// <summary>Makes the photo's suggestion the person's categorization.</summary>
    public async Task<(SuggestionAccept Outcome, ImageSuggestion? Suggestion)> AcceptAsync(Caller caller, Guid imageId, ImageService images,
        CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.VehicleImages.VisibleTo(caller).AnyAsync(i => i.Id == imageId, cancellationToken))
            return (SuggestionAccept.NotFound, null);
        var suggestion = await db.ImageSuggestions.AsNoTracking().SingleOrDefaultAsync(s => s.ImageId == imageId, cancellationToken);
        if (suggestion is null)
            return (SuggestionAccept.NoSuggestion, null);
        await images.CategorizeAsync(caller, imageId, suggestion.Category, suggestion.Angle, cancellationToken);
        return (SuggestionAccept.Accepted, suggestion);
    }
}
