using Npgsql;
using static VehicleImages.Core.Images.ProcessingStatus;

namespace VehicleImages.Core.Processing.Monitoring;

public sealed record QueueCounts(int Pending, int Processing, int Complete, int Failed, int Cancelled = 0);

/// <summary>What the admin page and API show of the queue right now.</summary>
public sealed class QueueMonitor(NpgsqlDataSource db)
{
    public async Task<bool> IsPausedAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("SELECT paused FROM processing_control WHERE id = 1");
        return (bool)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Counts per status of the images (what people see), not of the job rows.</summary>
    public async Task<QueueCounts> CountsAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT count(*) FILTER (WHERE processing_status = '{Pending}'),
                   count(*) FILTER (WHERE processing_status = '{Images.ProcessingStatus.Processing}'),
                   count(*) FILTER (WHERE processing_status = '{Complete}'),
                   count(*) FILTER (WHERE processing_status = '{Failed}'),
                   count(*) FILTER (WHERE processing_status = '{Cancelled}')
            FROM vehicle_images
            """);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new QueueCounts((int)reader.GetInt64(0), (int)reader.GetInt64(1), (int)reader.GetInt64(2), (int)reader.GetInt64(3), (int)reader.GetInt64(4));
    }
}
