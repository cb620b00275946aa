using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;
using VehicleImages.Core.Listings;

namespace VehicleImages.Core.Sharing;

/// <summary>What the owner asks for when creating a share; null fields take the contract's defaults.</summary>
public sealed record ShareRequest(string? Set, int? ExpiresInDays, string? Password, bool? AllowDownload, bool? Indexable);

/// <summary>A change to a share: null leaves a field as it is; <c>Password: ""</c> removes the password.</summary>
public sealed record SharePatch(int? ExpiresInDays, string? Password, bool? AllowDownload, bool? Indexable);

/// <summary>A share as its owner sees it; <see cref="Token"/> is the link's secret, decrypted for the owner only.</summary>
public sealed record ShareDetails(Guid Id, Guid VehicleId, string Token, string Set, DateTimeOffset ExpiresAt, bool HasPassword, bool AllowDownload,
    bool Indexable, long Views, DateTimeOffset? LastViewedAt, DateTimeOffset? RevokedAt, DateTimeOffset CreatedAt);

/// <summary>A share a visitor may open now (not revoked, not expired), with the vehicle's public name.</summary>
public sealed record OpenShare(Guid Id, Guid VehicleId, Guid OwnerId, string Set, DateTimeOffset ExpiresAt, string? PasswordHash,
    int PasswordVersion, bool AllowDownload, bool Indexable, string VehicleTitle);

/// <summary>One photo of a share, in order: its caption and the sizes a visitor may fetch.</summary>
public sealed record SharedPhoto(Guid ImageId, string Caption, string Shot, IReadOnlyList<SharedSize> Sizes);

/// <summary>One size of a shared photo (<c>thumb</c>, <c>medium</c>, <c>large</c>) with its pixel width and height.</summary>
public sealed record SharedSize(string Name, int Width, int Height);

public enum ShareChange { Changed, NotFound, Revoked }

/// <summary>
/// Share links (shared/CONTRACT.md, "Share links"): the owner creates, lists, changes and revokes them; a visitor's token
/// opens a share, and every photo is checked against the share's set at the moment it is asked for. The set is derived
/// from the listing on each read, never copied into the share, so a photo removed from the listing leaves the share.
/// </summary>
public sealed class ShareService(
    IDbContextFactory<VehicleImagesDbContext> contexts, ListingService listings, IDataProtectionProvider dataProtection, TimeProvider time)
{
    public const int DefaultDays = 30;
    public const int MaxDays = 365;
    public const int MaxPasswordLength = 128;

    private readonly IDataProtector _tokens = dataProtection.CreateProtector("VehicleImages.Sharing.Token.v1");
    private readonly IDataProtector _access = dataProtection.CreateProtector("VehicleImages.Sharing.Access.v1");
    private static readonly PasswordHasher<ShareLink> Hasher = new();
    // Immutable values swapped atomically: a view counted while a flush takes the entry lands in a new entry, never lost.
    private readonly ConcurrentDictionary<Guid, (long Count, DateTimeOffset Last)> _views = new();

    /// <summary>What is wrong with a request, by field; empty when it is good.</summary>
    public static Dictionary<string, string[]> Validate(string? set, int? expiresInDays, string? password)
    {
        var errors = new Dictionary<string, string[]>();
        if (set is not null && !ShareSets.Names.Contains(set))
            errors["set"] = [$"'{set}' is not a set; use listing or all."];
        if (expiresInDays is < 1 or > MaxDays)
            errors["expiresInDays"] = [$"A share expires after 1 to {MaxDays} days."];
        if (password is { Length: > MaxPasswordLength })
            errors["password"] = [$"A password has at most {MaxPasswordLength} characters."];
        return errors;
    }

    /// <summary>A new share of the caller's vehicle; null when the vehicle is not the caller's. Validate first.</summary>
    public async Task<ShareDetails?> CreateAsync(Caller caller, Guid vehicleId, ShareRequest request, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var ownerId = await db.Vehicles.Where(v => v.Id == vehicleId && (v.UserId == caller.UserId || caller.IsAdmin))
            .Select(v => (Guid?)v.UserId).SingleOrDefaultAsync(cancellationToken);
        if (ownerId is null)
            return null;
        // 256 random bits, URL-safe, like invitations: only the hash finds it; the encrypted copy is for the owner.
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        var share = new ShareLink
        {
            Id = Guid.CreateVersion7(),
            VehicleId = vehicleId,
            UserId = ownerId.Value,
            TokenHash = Hash(token),
            TokenProtected = _tokens.Protect(token),
            Set = request.Set ?? ShareSets.Listing,
            CreatedAt = now,
            ExpiresAt = now.AddDays(request.ExpiresInDays ?? DefaultDays),
            AllowDownload = request.AllowDownload ?? true,
            Indexable = request.Indexable ?? false,
        };
        if (!string.IsNullOrEmpty(request.Password))
            share.PasswordHash = Hasher.HashPassword(share, request.Password);
        db.ShareLinks.Add(share);
        await db.SaveChangesAsync(cancellationToken);
        return Details(share);
    }

    /// <summary>The vehicle's shares, newest first (revoked and expired ones too, so the owner sees which); null when not the caller's.</summary>
    public async Task<IReadOnlyList<ShareDetails>?> ListAsync(Caller caller, Guid vehicleId, CancellationToken cancellationToken)
    {
        await FlushViewsAsync(cancellationToken);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.Vehicles.AnyAsync(v => v.Id == vehicleId && (v.UserId == caller.UserId || caller.IsAdmin), cancellationToken))
            return null;
        var shares = await db.ShareLinks.AsNoTracking().Where(s => s.VehicleId == vehicleId).OrderByDescending(s => s.CreatedAt)
            .ToListAsync(cancellationToken);
        return [.. shares.Select(Details)];
    }

    /// <summary>Changes a share of the caller's; a new or removed password ends every visitor's access granted by the old one.</summary>
    public async Task<(ShareChange Outcome, ShareDetails? Share)> PatchAsync(Caller caller, Guid shareId, SharePatch patch, CancellationToken cancellationToken)
    {
        await FlushViewsAsync(cancellationToken);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var share = await db.ShareLinks.SingleOrDefaultAsync(s => s.Id == shareId && (s.UserId == caller.UserId || caller.IsAdmin), cancellationToken);
        if (share is null)
            return (ShareChange.NotFound, null);
        if (share.RevokedAt is not null)
            return (ShareChange.Revoked, Details(share));
        if (patch.ExpiresInDays is { } days)
            share.ExpiresAt = time.GetUtcNow().AddDays(days);
        if (patch.Password is { } password)
        {
            share.PasswordHash = password.Length == 0 ? null : Hasher.HashPassword(share, password);
            share.PasswordVersion++;
        }
        if (patch.AllowDownload is { } allow)
            share.AllowDownload = allow;
        if (patch.Indexable is { } indexable)
            share.Indexable = indexable;
        await db.SaveChangesAsync(cancellationToken);
        return (ShareChange.Changed, Details(share));
    }

    /// <summary>Ends a share of the caller's at once; false when there is no such share of theirs.</summary>
    public async Task<bool> RevokeAsync(Caller caller, Guid shareId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var found = await db.ShareLinks.Where(s => s.Id == shareId && (s.UserId == caller.UserId || caller.IsAdmin))
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, x => x.RevokedAt ?? now), cancellationToken);
        return found > 0;
    }

    /// <summary>The share the token opens now; null alike for unknown, revoked and expired tokens.</summary>
    public async Task<OpenShare?> OpenAsync(string token, CancellationToken cancellationToken)
    {
        // A token is 43 URL-safe characters; anything else is not one (and is not worth a query).
        if (token.Length is < 40 or > 64)
            return null;
        var hash = Hash(token);
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.ShareLinks.AsNoTracking()
            .Where(s => s.TokenHash == hash && s.RevokedAt == null && s.ExpiresAt > now)
            .Join(db.Vehicles, s => s.VehicleId, v => v.Id, (s, v) => new { Share = s, v.Name, v.Year, v.Make, v.Model })
            .SingleOrDefaultAsync(cancellationToken);
        if (row is null)
            return null;
        var s = row.Share;
        var title = Vehicles.Vehicle.Describe(row.Year, row.Make, row.Model);
        return new OpenShare(s.Id, s.VehicleId, s.UserId, s.Set, s.ExpiresAt, s.PasswordHash, s.PasswordVersion, s.AllowDownload, s.Indexable,
            title.Length > 0 ? title : row.Name);
    }

    /// <summary>The share's photos in order (the listing's, cover first; for "all" then the others by time taken), as they stand now.</summary>
    public async Task<IReadOnlyList<SharedPhoto>> PhotosAsync(OpenShare share, CancellationToken cancellationToken)
    {
        var listing = await listings.GetAsync(new Caller(share.OwnerId, IsAdmin: false), share.VehicleId, cancellationToken);
        var order = listing?.Items.Select(i => i.ImageId).ToList() ?? [];
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await Rows(db, share.VehicleId).ToListAsync(cancellationToken);
        var byId = rows.ToDictionary(r => r.Id);
        if (share.Set == ShareSets.All)
        {
            var inListing = order.ToHashSet();
            order.AddRange(rows.Where(r => !inListing.Contains(r.Id) && r.StackedBehindItsBest is false && MayShowInAll(r.Status, r.Category, r.Angle))
                .OrderBy(r => r.TakenAt ?? r.CreatedAt).ThenBy(r => r.CreatedAt).Select(r => r.Id));
        }
        return [.. order.Where(byId.ContainsKey).Select(id => Photo(byId[id])).OfType<SharedPhoto>()];
    }

    /// <summary>The photos a new share of <paramref name="set"/> would show now: for the owner's warning about unreviewed photos before sharing.</summary>
    public async Task<IReadOnlyList<Guid>> SetAsync(Guid ownerId, Guid vehicleId, string set, CancellationToken cancellationToken) =>
        [.. (await PhotosAsync(new OpenShare(Guid.Empty, vehicleId, ownerId, set, DateTimeOffset.MaxValue, null, 0, false, false, ""), cancellationToken))
            .Select(p => p.ImageId)];

    /// <summary>Is the photo in the share's set at this moment? Only then may any size of it be served.</summary>
    public async Task<bool> ContainsAsync(OpenShare share, Guid imageId, CancellationToken cancellationToken)
    {
        if (share.Set == ShareSets.All)
        {
            // The common case costs one row: a complete photo that "all" admits on its own.
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var row = await Rows(db, share.VehicleId, imageId).SingleOrDefaultAsync(cancellationToken);
            if (row is null)
                return false;
            if (!row.StackedBehindItsBest && MayShowInAll(row.Status, row.Category, row.Angle))
                return true;
        }
        var listing = await listings.GetAsync(new Caller(share.OwnerId, IsAdmin: false), share.VehicleId, cancellationToken);
        return listing is not null && listing.Items.Any(i => i.ImageId == imageId);
    }

    /// <summary>
    /// "all" admits a complete photo unless it is not a vehicle or a document other than the odometer (VIN plates, receipts,
    /// window stickers). Stacked photos that are not their stack's best are left out too (<see cref="PhotoRow.StackedBehindItsBest"/>,
    /// read in the same query as the photo); photos in the listing always count.
    /// </summary>
    public static bool MayShowInAll(string status, string category, string angle) =>
        status == ProcessingStatus.Complete && category != "not_vehicle" && (category != "document" || angle == "odometer");

    /// <summary>Right password for a protected share (Identity's hash, compared in constant time).</summary>
    public static bool PasswordMatches(OpenShare share, string password) =>
        share.PasswordHash is { } hash && password.Length <= MaxPasswordLength
        && Hasher.VerifyHashedPassword(null!, hash, password) != PasswordVerificationResult.Failed;

    /// <summary>The access cookie's value: this share and its password's version, encrypted and signed.</summary>
    public string AccessGrant(OpenShare share) => _access.Protect($"{share.Id:N}.{share.PasswordVersion}");

    /// <summary>True when <paramref name="grant"/> was made for this share and its current password.</summary>
    public bool Grants(OpenShare share, string? grant)
    {
        if (string.IsNullOrEmpty(grant))
            return false;
        try
        {
            return _access.Unprotect(grant) == $"{share.Id:N}.{share.PasswordVersion}";
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Counts a page view in memory; <see cref="FlushViewsAsync"/> writes the counts (one row update per share, not per visit).</summary>
    public void RecordView(Guid shareId)
    {
        var now = time.GetUtcNow();
        _views.AddOrUpdate(shareId, _ => (1, now), (_, v) => (v.Count + 1, v.Last > now ? v.Last : now));
    }

    /// <summary>Writes the views counted since the last flush (a chore calls it every few seconds; the owner's list first).</summary>
    public async Task FlushViewsAsync(CancellationToken cancellationToken)
    {
        foreach (var id in _views.Keys)
        {
            if (!_views.TryRemove(id, out var entry))
                continue;
            var (count, last) = entry;
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            await db.ShareLinks.Where(s => s.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Views, x => x.Views + count)
                .SetProperty(x => x.LastViewedAt, x => x.LastViewedAt == null || x.LastViewedAt < last ? last : x.LastViewedAt), cancellationToken);
        }
    }

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private ShareDetails Details(ShareLink s) => new(s.Id, s.VehicleId, _tokens.Unprotect(s.TokenProtected), s.Set, s.ExpiresAt,
        s.PasswordHash is not null, s.AllowDownload, s.Indexable, s.Views, s.LastViewedAt, s.RevokedAt, s.CreatedAt);

    private sealed record PhotoRow(Guid Id, string Status, string? Variants, DateTimeOffset? TakenAt, DateTimeOffset CreatedAt,
        string Category, string Angle, bool StackedBehindItsBest);

    /// <summary>The vehicle's photos with their effective shot (a person's choice outranks the analyzer's) and whether a near-duplicate
    /// stack has another photo as its best (SQL functions vi_image_stack and vi_stack_best, in the same query).</summary>
    private static IQueryable<PhotoRow> Rows(VehicleImagesDbContext db, Guid vehicleId, Guid? imageId = null) =>
        db.VehicleImages.AsNoTracking().Where(i => i.VehicleId == vehicleId && (imageId == null || i.Id == imageId))
            .Select(i => new
            {
                i.Id, i.ProcessingStatus, i.Variants, i.TakenAt, i.CreatedAt,
                Angle = db.VehicleImageAngles.Where(a => a.ImageId == i.Id).OrderBy(a => a.Source == AngleSource.User ? 0 : 1)
                    .Select(a => new { a.Category, a.Angle }).FirstOrDefault(),
                Stack = Embeddings.StackService.StackOf(i.Id),
            })
            .Select(r => new PhotoRow(r.Id, r.ProcessingStatus, r.Variants, r.TakenAt, r.CreatedAt,
                r.Angle == null ? Taxonomy.Unknown : r.Angle.Category, r.Angle == null ? Taxonomy.Unknown : r.Angle.Angle,
                r.Stack != null && Embeddings.StackService.BestOf(r.Stack.Value) != r.Id));

    private static SharedPhoto? Photo(PhotoRow r)
    {
        if (VariantSet.FromJson(r.Variants) is not { } variants)
            return null;
        var sizes = new[] { ("thumb", variants.Thumb), ("medium", variants.Medium), ("large", variants.Large) }
            .Where(v => v.Item2.Width is > 0 && v.Item2.Height is > 0)
            .Select(v => new SharedSize(v.Item1, v.Item2.Width!.Value, v.Item2.Height!.Value)).ToList();
        return new SharedPhoto(r.Id, Caption(r.Category, r.Angle), $"{r.Category}.{r.Angle}", sizes);
    }

    /// <summary>What the analysis says the photo shows, in words: "Front 3/4 left", "Dashboard", "Engine bay".</summary>
    public static string Caption(string category, string angle) => (category, angle) switch
    {
        (Taxonomy.Unknown, _) => "Photo",
        (_, Taxonomy.Unknown) or (_, "full") or (_, "other") => Taxonomy.Label(category),
        _ => Taxonomy.Label(angle),
    };
}
