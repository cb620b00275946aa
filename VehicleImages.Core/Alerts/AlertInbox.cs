using Npgsql;

namespace VehicleImages.Core.Alerts;

public sealed record AlertView(Guid Id, string Kind, string Message, Guid? ImageId, DateTimeOffset CreatedAt, DateTimeOffset? AcknowledgedAt);

/// <summary>The admins' alert list: the latest alerts, and acknowledging one.</summary>
public sealed class AlertInbox(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<AlertView>> LatestAsync(int limit, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            SELECT id, kind, message, image_id, created_at, acknowledged_at FROM admin_alerts
            ORDER BY created_at DESC LIMIT @limit
            """);
        cmd.Parameters.AddWithValue("limit", limit);
        var alerts = new List<AlertView>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            alerts.Add(new AlertView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        return alerts;
    }

    public async Task<bool> AcknowledgeAsync(Guid alertId, Guid adminId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE admin_alerts SET acknowledged_at = now(), acknowledged_by = @admin WHERE id = @id AND acknowledged_at IS NULL
            """);
        cmd.Parameters.AddWithValue("id", alertId);
        cmd.Parameters.AddWithValue("admin", adminId);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
