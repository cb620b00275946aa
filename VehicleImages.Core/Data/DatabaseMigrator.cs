using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
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
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var connectionString = db.Database.GetConnectionString()!;
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (await AdvisoryLocks.HoldSessionLockAsync(lockConnection, AdvisoryLocks.Migration, cancellationToken))
        {
            // On a fresh database EF reads the history table before creating it and logs the failed
            // read as an error (dotnet/efcore#37328): a healthy first start would print a "fail:" line.
            // Creating the empty table first (under the lock, so no instance races us) makes that read succeed.
            await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
            // MigrateAsync logs each migration it applies, or that there was none to apply.
            await db.Database.MigrateAsync(cancellationToken);
            logger.LogInformation("Database schema is up to date");
        }
    }
}
