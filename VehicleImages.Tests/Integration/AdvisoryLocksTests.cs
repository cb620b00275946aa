using Microsoft.EntityFrameworkCore;
using Npgsql;
using VehicleImages.Core.Data;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

/// <summary>
/// The keys are a contract with every running instance, including ones on an older version: each lock
/// must be the one the expression written here (what earlier versions ran) takes.
/// </summary>
public sealed class AdvisoryLocksTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(AdvisoryLocks.Registration, "1447644488")]
    [InlineData(AdvisoryLocks.Alerts, "1447644489")]
    public async Task NumberedLock_HeldInATransaction_ExcludesTheEarlierKey(long key, string earlier)
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

        await using (var db = Context(connectionString))
        await using (var tx = await db.Database.BeginTransactionAsync(Ct))
        {
            await AdvisoryLocks.LockAsync(db, key, Ct);
            Assert.False(await TryAsync(connectionString, earlier));
        }

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(Ct);
            await using var tx = await connection.BeginTransactionAsync(Ct);
            await AdvisoryLocks.LockAsync(connection, tx, key, Ct);
            Assert.False(await TryAsync(connectionString, earlier));
        }

        Assert.True(await TryAsync(connectionString, earlier));
    }

    [Fact]
    public async Task KeyedLocks_HeldInATransaction_ExcludeTheEarlierHashedKeys()
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var vehicleId = Guid.NewGuid();
        var sha256 = new string('a', 64);

        await using (var db = Context(connectionString))
        await using (var tx = await db.Database.BeginTransactionAsync(Ct))
        {
            await AdvisoryLocks.LockVehicleAsync(db, vehicleId, Ct);
            await AdvisoryLocks.LockContentAsync(db, sha256, Ct);
            Assert.False(await TryAsync(connectionString, $"hashtextextended('{vehicleId}', 42)"));
            Assert.False(await TryAsync(connectionString, $"hashtextextended('{sha256}', 42)"));
        }

        Assert.True(await TryAsync(connectionString, $"hashtextextended('{vehicleId}', 42)"));
    }

    [Fact]
    public async Task SessionLock_HeldUntilDisposed_ExcludesTheEarlierMigrationKey()
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);

        await using (await AdvisoryLocks.HoldSessionLockAsync(connection, AdvisoryLocks.Migration, Ct))
            Assert.False(await TryAsync(connectionString, "1447644487"));

        Assert.True(await TryAsync(connectionString, "1447644487"));
    }

    private static VehicleImagesDbContext Context(string connectionString)
    {
        var options = new DbContextOptionsBuilder<VehicleImagesDbContext>();
        VehicleImagesDbContext.Configure(options, connectionString);
        return new VehicleImagesDbContext(options.Options);
    }

    /// <summary>Whether another session could take the lock <paramref name="key"/> (an SQL expression) now.</summary>
    private static async Task<bool> TryAsync(string connectionString, string key)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_xact_lock({key})", connection);
        return (bool)(await command.ExecuteScalarAsync(Ct))!;
    }
}
