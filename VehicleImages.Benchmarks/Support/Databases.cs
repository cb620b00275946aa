using Npgsql;

namespace VehicleImages.Benchmarks.Support;

/// <summary>Seeding and reading a figure's database directly, beside the app.</summary>
internal static class Databases
{
    public static async Task SeedCompleteAsync(string cs, Guid vehicle, int count)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var cmd = new NpgsqlCommand("""
            INSERT INTO vehicle_images (vehicle_id, user_id, file_name, processing_status, ai_scan_metadata)
            SELECT v.id, v.user_id, 'IMG_' || g || '.jpg', 'complete', '{"tier_1_analysis": {}}'
            FROM vehicles v, generate_series(1, @n) g WHERE v.id = @v
            """, c);
        cmd.Parameters.AddWithValue("v", vehicle);
        cmd.Parameters.AddWithValue("n", count);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task SqlAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await new NpgsqlCommand(sql, c).ExecuteNonQueryAsync();
    }

    /// <summary>Commits and rows read (tup_returned + tup_fetched) of one database, on a fresh connection (no cached snapshot).</summary>
    public static async Task<(long Commits, long Rows)> DatabaseCountersAsync(string admin, string database)
    {
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        var cmd = new NpgsqlCommand("SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database WHERE datname = @db", c);
        cmd.Parameters.AddWithValue("db", database);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    public static async Task<long> ScalarAsync(string cs, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
