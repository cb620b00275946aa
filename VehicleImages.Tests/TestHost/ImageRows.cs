using Npgsql;

namespace VehicleImages.Tests.TestHost;

/// <summary>Rows written with plain SQL, the way the old system or a script would.</summary>
public static class ImageRows
{
    public static async Task<(Guid UserId, Guid VehicleId)> OwnerAsync(string connectionString)
    {
        var (user, vehicle) = (Guid.NewGuid(), Guid.NewGuid());
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO asp_net_users (id, user_name, email, email_confirmed, phone_number_confirmed, two_factor_enabled, lockout_enabled, access_failed_count)
            VALUES (@u, @name, @name, false, false, false, false, 0);
            INSERT INTO vehicles (id, user_id, name) VALUES (@v, @u, 'Scripted car');
            """, connection);
        cmd.Parameters.AddWithValue("u", user);
        cmd.Parameters.AddWithValue("v", vehicle);
        cmd.Parameters.AddWithValue("name", $"owner-{user:N}@example.test");
        await cmd.ExecuteNonQueryAsync();
        return (user, vehicle);
    }

    public static async Task<Guid[]> InsertAsync(string connectionString, int count, string status = "pending", string? extraSql = null)
    {
        var (user, vehicle) = await OwnerAsync(connectionString);
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        if (extraSql is not null)
            await new NpgsqlCommand(extraSql, connection, tx).ExecuteNonQueryAsync();
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at)
            SELECT id, @v, @u, 'IMG_' || ord || '.jpg', @status, '2024-01-15'
            FROM unnest(@ids) WITH ORDINALITY AS t(id, ord)
            """, connection, tx);
        cmd.Parameters.AddWithValue("v", vehicle);
        cmd.Parameters.AddWithValue("u", user);
        cmd.Parameters.AddWithValue("status", status);
        cmd.Parameters.AddWithValue("ids", ids);
        await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return ids;
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            cmd.Parameters.AddWithValue(name, value);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The attempt count of the photo's latest completed job: a completed job leaves the job table, and its
    /// record is its completing attempt in the history (ADR 017).
    /// </summary>
    public static Task<int> CompletedAttemptAsync(string connectionString, Guid imageId) => ScalarAsync<int>(connectionString,
        "SELECT attempt FROM image_processing_attempts WHERE image_id = @id AND outcome = 'complete' ORDER BY id DESC LIMIT 1", ("id", imageId));

    public static Task<long> CountAsync(string connectionString, string where, params (string Name, object Value)[] parameters) =>
        ScalarAsync<long>(connectionString, $"SELECT count(*) FROM vehicle_images WHERE {where}", parameters);

    /// <summary>Polls the database until <paramref name="done"/> holds; fails saying what it waited for.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Gave up waiting for {what}.");
            await Task.Delay(100);
        }
    }
}
