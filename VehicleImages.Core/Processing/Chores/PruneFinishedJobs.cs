using Npgsql;
using static VehicleImages.Core.Images.ProcessingStatus;
using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>
/// Deletes completed job rows older than <see cref="Age"/>, a batch at a time; the attempt history stays.
/// Since ADR 017 a completion deletes its job row itself, so the rows this finds are those an instance of
/// an older version completed during a rolling upgrade. <see cref="Age"/> is also how long the job
/// explorer lists a completed job (from its history row), as long as completed rows used to stay here.
/// </summary>
public sealed class PruneFinishedJobs(NpgsqlDataSource db) : IChore
{
    public static readonly TimeSpan Age = TimeSpan.FromDays(1);
    private const int Batch = 1000;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            DELETE FROM image_processing_jobs WHERE id IN (
                SELECT id FROM image_processing_jobs
                WHERE status = '{Complete}' AND finished_at < now() - @age
                LIMIT {Batch})
            """);
        cmd.Parameters.AddWithValue("age", Age);
        return await cmd.RepeatWhileFullAsync(Batch, cancellationToken);
    }
}
