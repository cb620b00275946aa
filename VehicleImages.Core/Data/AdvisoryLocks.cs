using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace VehicleImages.Core.Data;

/// <summary>
/// Every PostgreSQL advisory lock the app takes, with what it protects. The keys must never change:
/// during a rolling deploy old and new instances exclude each other only while they agree on them.
/// Numbered keys spell "VIM" and a letter, so they are recognisable in pg_locks; keyed locks hash
/// their text with <c>hashtextextended(text, 42)</c>.
/// </summary>
public static class AdvisoryLocks
{
    /// <summary>Schema migration at start-up (a session lock): one instance migrates, the others wait.</summary>
    public const long Migration = 0x56494D47;

    /// <summary>Registration: two simultaneous first sign-ups cannot both become Admin.</summary>
    public const long Registration = 0x56494D48;

    /// <summary>Failure alerts: one decision at a time across instances, so a burst yields exactly one burst alert.</summary>
    public const long Alerts = 0x56494D49;

    /// <summary>Role changes: two admins demoting each other at once are decided one after the other, so one admin always remains.</summary>
    public const long Roles = 0x56494D4A;

    /// <summary>Takes a numbered lock until the current transaction ends.</summary>
    public static Task LockAsync(DbContext db, long key, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({key})", cancellationToken);

    /// <summary>Takes a numbered lock until <paramref name="transaction"/> ends.</summary>
    public static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction);
        command.Parameters.AddWithValue("key", key);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The stored files of one content hash, until the transaction ends: ingest holds it from writing
    /// the files to committing the row; deleting unused files and the orphan sweep re-check under it.
    /// </summary>
    public static Task LockContentAsync(DbContext db, string sha256, CancellationToken cancellationToken) =>
        LockTextAsync(db, sha256, cancellationToken);

    /// <summary>One vehicle's primary photo, until the transaction ends: ingest, delete and set-primary.</summary>
    public static Task LockVehicleAsync(DbContext db, Guid vehicleId, CancellationToken cancellationToken) =>
        LockTextAsync(db, vehicleId.ToString(), cancellationToken);

    /// <summary>
    /// One account's stored-bytes quota, until the transaction ends: a tus creation's reservation and
    /// ingest's final check pass one at a time, so neither counts without the other.
    /// </summary>
    public static Task LockQuotaAsync(DbContext db, Guid userId, CancellationToken cancellationToken) =>
        LockTextAsync(db, "quota:" + userId.ToString("N"), cancellationToken);

    /// <summary>Holds a numbered lock on <paramref name="connection"/> (not a transaction) until disposed.</summary>
    public static async Task<IAsyncDisposable> HoldSessionLockAsync(NpgsqlConnection connection, long key, CancellationToken cancellationToken)
    {
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
        {
            take.Parameters.AddWithValue("key", key);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        return new SessionLock(connection, key);
    }

    private static Task LockTextAsync(DbContext db, string key, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 42))", cancellationToken);

    private sealed class SessionLock(NpgsqlConnection connection, long key) : IAsyncDisposable
    {
        // Closing the connection releases the lock too; unlocking first returns a pooled connection clean.
        public async ValueTask DisposeAsync()
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            release.Parameters.AddWithValue("key", key);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
