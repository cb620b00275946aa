using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace VehicleImages.Core.Data;

/// <summary>
/// Applies migrations at start-up. Several instances may start at once against one database, so
/// the whole migration runs under a session-level advisory lock held on a connection of its own:
/// the first instance migrates, the others wait and then find nothing left to do.
/// </summary>
public sealed class DatabaseMigrator(IDbContextFactory<VehicleImagesDbContext> contexts, ILogger<DatabaseMigrator> logger)
{
    // Any constant works; this one spells "VIMG" so it is recognisable in pg_locks.
    private const long MigrationLockKey = 0x56494D47;

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var connectionString = db.Database.GetConnectionString()!;
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", lockConnection))
        {
            take.Parameters.AddWithValue("key", MigrationLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            // MigrateAsync logs each migration it applies, or that there was none to apply.
            await db.Database.MigrateAsync(cancellationToken);
            logger.LogInformation("Database schema is up to date");
        }
        finally
        {
            // Closing the connection releases the lock too; unlocking first returns the pooled
            // connection clean.
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", lockConnection);
            release.Parameters.AddWithValue("key", MigrationLockKey);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
