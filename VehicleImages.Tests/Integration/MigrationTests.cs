using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VehicleImages.Core.Data;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

public sealed class MigrationTests
{
    private static readonly string[] ContractTables =
    [
        "vehicles", "vehicle_images", "vehicle_image_angles", "image_spatial_metadata", "admin_alerts",
        "asp_net_users", "asp_net_roles", "asp_net_user_roles", "data_protection_keys",
    ];

    private static DatabaseMigrator Migrator(string connectionString)
    {
        var options = new DbContextOptionsBuilder<VehicleImagesDbContext>();
        VehicleImagesDbContext.Configure(options, connectionString);
        return new DatabaseMigrator(new PooledDbContextFactory<VehicleImagesDbContext>(options.Options), NullLogger<DatabaseMigrator>.Instance);
    }

    [Fact]
    public async Task Migrate_ManyInstancesAtOnceOnEmptyDatabase_CreatesEveryContractTable()
    {
        var server = await PostgresServer.GetAsync();
        var cs = await server.CreateEmptyDatabaseAsync();

        // Three app instances starting together must not trip over each other.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Migrator(cs).MigrateAsync(TestContext.Current.CancellationToken)));

        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var tables = new List<string>();
        await using (var cmd = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken))
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
                tables.Add(reader.GetString(0));
        Assert.All(ContractTables, t => Assert.Contains(t, tables));

        await using var history = new NpgsqlCommand("SELECT count(*) FROM \"__EFMigrationsHistory\"", connection);
        var applied = (long)(await history.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        var options = new DbContextOptionsBuilder<VehicleImagesDbContext>();
        VehicleImagesDbContext.Configure(options, cs);
        await using var db = new VehicleImagesDbContext(options.Options);
        Assert.Equal(db.Database.GetMigrations().Count(), applied);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task VehicleImages_HasEveryContractColumn()
    {
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(await server.CreateDatabaseAsync());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var columns = new Dictionary<string, string>();
        await using (var cmd = new NpgsqlCommand(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'vehicle_images'", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken))
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
                columns[reader.GetString(0)] = reader.GetString(1);

        Assert.Equal("uuid", columns["id"]);
        Assert.Equal("jsonb", columns["exif_data"]);
        Assert.Equal("jsonb", columns["variants"]);
        Assert.Equal("jsonb", columns["ai_scan_metadata"]);
        Assert.Equal("text", columns["processing_status"]);
        foreach (var name in new[] { "vehicle_id", "user_id", "file_name", "taken_at", "is_primary", "processing_error", "created_at" })
            Assert.True(columns.ContainsKey(name), $"vehicle_images.{name} is missing");
    }

    [Fact]
    public async Task StatusQuery_FromContract_RunsAsWrittenAndClassifiesRows()
    {
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(await server.CreateDatabaseAsync());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using (var seed = new NpgsqlCommand("""
            INSERT INTO asp_net_users (id, user_name, email, email_confirmed, phone_number_confirmed, two_factor_enabled, lockout_enabled, access_failed_count)
            VALUES ('00000000-0000-0000-0000-000000000001', 'a@x', 'a@x', false, false, false, false, 0);
            INSERT INTO vehicles (id, user_id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'Car');
            INSERT INTO vehicle_images (vehicle_id, user_id, file_name, taken_at, ai_scan_metadata) VALUES
              ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'none.jpg', '2024-01-05', NULL),
              ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'done.jpg', '2024-01-10', '{"tier_1_analysis": {"category": "exterior"}}'),
              ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'part.jpg', '2024-01-20', '{"provider": "Local"}'),
              ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'feb.jpg', '2024-02-01', NULL);
            """, connection))
            await seed.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);

        await using var query = new NpgsqlCommand("""
            SELECT id, file_name, taken_at, created_at,
              CASE WHEN ai_scan_metadata IS NULL THEN 'UNPROCESSED'
                   WHEN ai_scan_metadata->'tier_1_analysis' IS NOT NULL THEN 'PROCESSED'
                   ELSE 'PARTIAL' END AS status
            FROM vehicle_images WHERE taken_at >= '2024-01-01' AND taken_at < '2024-02-01' ORDER BY taken_at;
            """, connection);
        var rows = new List<(string File, string Status)>();
        await using (var reader = await query.ExecuteReaderAsync(TestContext.Current.CancellationToken))
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
                rows.Add((reader.GetString(1), reader.GetString(4)));

        Assert.Equal([("none.jpg", "UNPROCESSED"), ("done.jpg", "PROCESSED"), ("part.jpg", "PARTIAL")], rows);
    }

    [Fact]
    public async Task ProcessingStatus_OutsideTheFourValues_IsRefusedByTheDatabase()
    {
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(await server.CreateDatabaseAsync());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO asp_net_users (id, user_name, email, email_confirmed, phone_number_confirmed, two_factor_enabled, lockout_enabled, access_failed_count)
            VALUES ('00000000-0000-0000-0000-000000000001', 'a@x', 'a@x', false, false, false, false, 0);
            INSERT INTO vehicles (id, user_id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'Car');
            INSERT INTO vehicle_images (vehicle_id, user_id, file_name, processing_status)
            VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', 'x.jpg', 'done');
            """, connection);
        var e = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        Assert.Equal(PostgresErrorCodes.CheckViolation, e.SqlState);
    }

    /// <summary>
    /// A database made by the migrations as they stood on 2026-11-26 (their script, kept under Schemas/) and then
    /// migrated by today's code has exactly the schema of a fresh install: rewriting old migrations (their SQL
    /// moved to versioned files in migrations/Sql) or adding new ones changed no existing installation's result.
    /// </summary>
    [Fact]
    public async Task Migrate_UpgradeFromTheNovemberSchema_EndsExactlyLikeAFreshInstall()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await PostgresServer.GetAsync();
        var upgraded = await server.CreateEmptyDatabaseAsync();
        await using (var connection = new NpgsqlConnection(upgraded))
        {
            await connection.OpenAsync(ct);
            var script = await File.ReadAllTextAsync(
                Path.Combine(RepoPaths.Root, "VehicleImages.Tests", "Integration", "Schemas", "through-20261126083615-PhotoRowsRoomForHotUpdates.sql"), ct);
            await using var old = new NpgsqlCommand(script, connection);
            await old.ExecuteNonQueryAsync(ct);
        }

        await Migrator(upgraded).MigrateAsync(ct);
        var fresh = await server.CreateEmptyDatabaseAsync();
        await Migrator(fresh).MigrateAsync(ct);

        var expected = await SchemaAsync(fresh, ct);
        var actual = await SchemaAsync(upgraded, ct);
        Assert.True(expected.Count > 100, $"the schema query saw only {expected.Count} objects");
        Assert.Equal(expected, actual);
    }

    /// <summary>Every column, constraint, index, function, trigger and table option of the public schema, one line each.</summary>
    private static async Task<List<string>> SchemaAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("""
            SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type || coalesce('(' || c.character_maximum_length || ')', '')
                   || ' nullable=' || c.is_nullable || ' default=' || coalesce(c.column_default, '') || ' identity=' || c.is_identity
            FROM information_schema.columns c WHERE c.table_schema = 'public'
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid WHERE r.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
            UNION ALL
            SELECT 'options ' || relname || ' ' || array_to_string(reloptions, ',')
            FROM pg_class WHERE relnamespace = 'public'::regnamespace AND reloptions IS NOT NULL
            ORDER BY 1
            """, connection);
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            lines.Add(reader.GetString(0));
        return lines;
    }

    [Fact]
    public async Task Migrate_AsTheAppRole_WhichOwnsEveryTableAndIsNoSuperuser()
    {
        // The rig connects as run.sh's app does: a role that owns its database, not a superuser.
        var cs = await (await PostgresServer.GetAsync()).CreateEmptyDatabaseAsync();
        await Migrator(cs).MigrateAsync(TestContext.Current.CancellationToken);

        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var cmd = new NpgsqlCommand(
            """
            SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb,
                   (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user),
                   (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')
            FROM pg_roles r WHERE r.rolname = current_user
            """, connection);
        await using var reader = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        if (Environment.GetEnvironmentVariable("ConnectionStrings__Default") is null)
        {
            Assert.False(reader.GetBoolean(0), "the app's role must not be a superuser");
            Assert.False(reader.GetBoolean(1), "the app's role must not create roles");
            Assert.False(reader.GetBoolean(2), "the app's role must not create databases");
        }

        Assert.Equal(0L, reader.GetInt64(3));
        Assert.True(reader.GetInt64(4) >= ContractTables.Length);
    }
}
