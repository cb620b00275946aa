using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Quotas;

/// <summary>The configured quotas; 0 = unlimited.</summary>
public sealed record QuotaLimits(long MaxStoredBytes, int PhotosPerDay, int ProviderCallsPerDay)
{
    public const string StoredBytes = "storedBytes";
    public const string Photos = "photosPerDay";
    public const string ProviderCalls = "providerCallsPerDay";

    /// <summary>The quotas this account has used up (names as in the API): it can upload, or have analysed, no more of that.</summary>
    public IReadOnlyList<string> ReachedBy(UserUsage usage) =>
    [
        .. MaxStoredBytes > 0 && usage.StoredBytes >= MaxStoredBytes ? [StoredBytes] : Array.Empty<string>(),
        .. PhotosPerDay > 0 && usage.PhotosToday >= PhotosPerDay ? [Photos] : Array.Empty<string>(),
        .. ProviderCallsPerDay > 0 && usage.ProviderCallsToday >= ProviderCallsPerDay ? [ProviderCalls] : Array.Empty<string>(),
    ];
}

/// <summary>One account's usage: all its photos, and today's (UTC) uploads and provider calls.</summary>
public sealed record UserUsage(Guid UserId, string Email, int Photos, long StoredBytes, int PhotosToday, int ProviderCallsToday);

/// <summary>An account's usage against the quotas, and when the daily counts start again.</summary>
public sealed record UsageReport(QuotaLimits Quotas, DateTimeOffset DayEndsAt, IReadOnlyList<UserUsage> Users);

/// <summary>
/// Per-account quotas (Quotas:*): stored bytes and photos per day are checked at upload, per file;
/// provider calls per day are enforced by the queue's claim (JobQueue), which leaves an account's
/// photos pending once it has spent the day's calls. Days are UTC days of the database's clock.
/// </summary>
public sealed class QuotaService(NpgsqlDataSource db, IOptions<QuotaOptions> options, TimeProvider time)
{
    /// <summary>The SQL for "today", one definition for every statement that counts or reads a day.</summary>
    public const string Today = "(now() AT TIME ZONE 'UTC')::date";

    public QuotaLimits Limits => new(options.Value.MaxStoredBytes, options.Value.PhotosPerDay, options.Value.ProviderCallsPerDay);

    private bool ChecksUploads => options.Value.MaxStoredBytes > 0 || options.Value.PhotosPerDay > 0;

    /// <summary>
    /// The bytes an account's unfinished resumable uploads hold (their Upload-Length, reserved at creation).
    /// A finished, terminated or expired upload holds nothing; one being ingested ("finishing") is counted
    /// by the ingest itself. Parameters: @user, @now (the app's clock, the one expiry is written with).
    /// </summary>
    public const string ReservedSql =
        "SELECT coalesce(sum(length), 0)::bigint FROM resumable_uploads WHERE user_id = @user AND state = 'uploading' AND expires_at > @now";

    /// <summary>
    /// Before any pixel is decoded: would this file be refused? No lock, so a race can pass it; the
    /// answer that counts is <see cref="ReserveAsync"/>'s, inside the transaction that stores the photo.
    /// </summary>
    public async Task<string?> CheckUploadAsync(Guid userId, long bytes, CancellationToken cancellationToken)
    {
        if (!ChecksUploads)
            return null;
        await using var cmd = db.CreateCommand($"""
            SELECT (SELECT photos FROM user_daily_usage WHERE user_id = @user AND day = {Today}),
                   (SELECT sum(file_size) FROM vehicle_images WHERE user_id = @user),
                   ({ReservedSql})
            """);
        cmd.Parameters.AddWithValue("user", userId);
        cmd.Parameters.AddWithValue("now", time.GetUtcNow());
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var photosToday = reader.IsDBNull(0) ? 0 : reader.GetInt32(0);
        var stored = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        return Refusal(photosToday + 1, stored, reader.GetInt64(2), bytes);
    }

    /// <summary>
    /// A tus creation, inside the transaction that inserts its row: would <paramref name="length"/> more
    /// bytes, on top of the photos kept and the other unfinished uploads' reservations, pass the stored-bytes
    /// quota? Holds the account's quota lock until the transaction ends. Null: it fits (or there is no quota).
    /// </summary>
    public async Task<string?> ReserveUploadAsync(DbContext context, Guid userId, long length, CancellationToken cancellationToken)
    {
        if (options.Value.MaxStoredBytes <= 0)
            return null;
        await AdvisoryLocks.LockQuotaAsync(context, userId, cancellationToken);
        var (stored, reserved) = await StoredAndReservedAsync(context, userId, cancellationToken);
        return StorageRefusal(stored, reserved, length);
    }

    private async Task<(long Stored, long Reserved)> StoredAndReservedAsync(DbContext context, Guid userId, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)context.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction?)context.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Reserving quota needs a transaction.");
        await using var sum = new NpgsqlCommand(
            $"SELECT (SELECT coalesce(sum(file_size), 0)::bigint FROM vehicle_images WHERE user_id = @user), ({ReservedSql})", connection, transaction);
        sum.Parameters.AddWithValue("user", userId);
        sum.Parameters.AddWithValue("now", time.GetUtcNow());
        await using var reader = await sum.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Inside ingest's transaction, just before the photo's row: counts the photo for today and
    /// checks both upload quotas. The count's row stays locked until the transaction ends, so one
    /// account's simultaneous uploads pass here one at a time and each sees the others' photos.
    /// A refusal is returned for the caller to roll back (the count goes with it).
    /// </summary>
    public async Task<string?> ReserveAsync(DbContext context, Guid userId, long bytes, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)context.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction?)context.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Reserving quota needs the ingest transaction.");
        int photosToday;
        await using (var count = new NpgsqlCommand($"""
            INSERT INTO user_daily_usage AS u (user_id, day, photos) VALUES (@user, {Today}, 1)
            ON CONFLICT (user_id, day) DO UPDATE SET photos = u.photos + 1
            RETURNING u.photos
            """, connection, transaction))
        {
            count.Parameters.AddWithValue("user", userId);
            photosToday = (int)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        if (!ChecksUploads)
            return null;
        // After the locks: the sums' snapshot includes photos and reservations committed meanwhile, and a
        // tus creation cannot reserve between them and this photo's commit.
        await AdvisoryLocks.LockQuotaAsync(context, userId, cancellationToken);
        var (stored, reserved) = await StoredAndReservedAsync(context, userId, cancellationToken);
        return Refusal(photosToday, stored, reserved, bytes);
    }

    /// <summary>Why a file is refused (a reason its owner can act on), or null.</summary>
    private string? Refusal(int photosTodayWithThis, long storedBytes, long reservedBytes, long bytes)
    {
        var o = options.Value;
        if (StorageRefusal(storedBytes, reservedBytes, bytes) is { } full)
            return full;
        if (o.PhotosPerDay > 0 && photosTodayWithThis > o.PhotosPerDay)
        {
            var left = DayEndsAt() - time.GetUtcNow();
            return $"you have uploaded {o.PhotosPerDay} photos today, your daily limit. Upload this one after midnight UTC " +
                   $"(in {(int)left.TotalHours} h {left.Minutes} min), or ask an administrator for a higher limit.";
        }

        return null;
    }

    private string? StorageRefusal(long storedBytes, long reservedBytes, long bytes)
    {
        var max = options.Value.MaxStoredBytes;
        if (max <= 0 || storedBytes + reservedBytes + bytes <= max)
            return null;
        var held = reservedBytes > 0 ? $" (and unfinished uploads hold {ByteSize.Format(reservedBytes)} more)" : "";
        return $"your storage is full: {ByteSize.Format(storedBytes)} of your {ByteSize.Format(max)} are in use{held} and this file needs " +
               $"{ByteSize.Format(bytes)}. Delete photos you no longer need{(reservedBytes > 0 ? ", finish or cancel unfinished uploads" : "")}, " +
               "or ask an administrator for more space.";
    }

    /// <summary>When today's counts start again (the next midnight UTC).</summary>
    public DateTimeOffset DayEndsAt() => new(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(1), TimeOnly.MinValue, TimeSpan.Zero);

    /// <summary>Every account's usage, the heaviest users first.</summary>
    public Task<UsageReport> AllUsersAsync(CancellationToken cancellationToken) => ReportAsync(null, cancellationToken);

    /// <summary>One account's usage; null when there is no such account.</summary>
    public async Task<UsageReport?> ForUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        var report = await ReportAsync(userId, cancellationToken);
        return report.Users.Count == 0 ? null : report;
    }

    private async Task<UsageReport> ReportAsync(Guid? userId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT u.id, coalesce(u.email, u.user_name, ''), coalesce(i.photos, 0)::int, coalesce(i.bytes, 0)::bigint,
                   coalesce(d.photos, 0), coalesce(d.provider_calls, 0)
            FROM asp_net_users u
            LEFT JOIN LATERAL (SELECT count(*) AS photos, sum(file_size) AS bytes FROM vehicle_images v WHERE v.user_id = u.id) i ON true
            LEFT JOIN user_daily_usage d ON d.user_id = u.id AND d.day = {Today}
            WHERE @user::uuid IS NULL OR u.id = @user
            ORDER BY coalesce(d.provider_calls, 0) DESC, coalesce(i.bytes, 0) DESC, 2
            """);
        cmd.Parameters.AddWithValue("user", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)userId ?? DBNull.Value);
        var users = new List<UserUsage>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            users.Add(new UserUsage(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt32(4), reader.GetInt32(5)));
        return new UsageReport(Limits, DayEndsAt(), users);
    }
}

/// <summary>Byte counts as people read them.</summary>
public static class ByteSize
{
    public static string Format(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024L * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };
}
