using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Tests.Processing;

/// <summary>Results written several at a time, and how many claims a pool holds.</summary>
public sealed class CompletionBatchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(string Cs, TestApp App, CompletionWriter Writer, IReadOnlyList<ClaimKey> Claims)> ClaimedAsync(int images)
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        await ImageRows.InsertAsync(cs, images);
        var claims = await app.QueueAs("worker", TimeSpan.FromMinutes(1)).ClaimAsync(images, Ct);
        Assert.Equal(images, claims.Count);
        return (cs, app, app.Services.GetRequiredService<CompletionWriter>(), claims.Select(c => c.Key).ToList());
    }

    private static AnalysisResult Result(string angle, params LocatedComponent[] parts) =>
        new(new() { ["provider"] = "test" }, new AiCategorization("exterior", angle, 0.9), parts, parts.Length > 0 ? 2 : 1);

    private static LocatedComponent Part(string name, double x = 0.1) => new(name, "front", "good", 0.8, x, 0.2, 0.3, 0.4, 2);

    [Fact]
    public async Task CompleteMany_LostClaimAmongLiveOnes_OnlyTheLiveOnesAreWritten()
    {
        var (cs, app, writer, claims) = await ClaimedAsync(3);
        await using var _ = app;
        // The first claim was lost (its attempt is no longer the job's); the other two are live.
        var lost = claims[0] with { Attempt = claims[0].Attempt + 5 };
        var written = await writer.WriteTogetherAsync(
        [
            new Completion(lost, Result("front", Part("hood"))),
            new Completion(claims[1], Result("rear", Part("bumper"), Part("tailgate"))),
            new Completion(claims[2], Result("side_left")),
        ], Ct);

        Assert.Equal([false, true, true], written);
        Assert.Equal("processing", await StatusAsync(cs, claims[0].ImageId));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_image_angles WHERE image_id = @id", ("id", claims[0].ImageId)));
        Assert.True(await ImageRows.ScalarAsync<bool>(cs, "SELECT ai_scan_metadata IS NULL FROM vehicle_images WHERE id = @id", ("id", claims[0].ImageId)));
        Assert.Equal(["complete", "complete"], [await StatusAsync(cs, claims[1].ImageId), await StatusAsync(cs, claims[2].ImageId)]);
        // Each result went to its own image: angles, components and one attempt row apiece.
        Assert.Equal("rear", await ImageRows.ScalarAsync<string>(cs, "SELECT angle FROM vehicle_image_angles WHERE image_id = @id", ("id", claims[1].ImageId)));
        Assert.Equal("side_left", await ImageRows.ScalarAsync<string>(cs, "SELECT angle FROM vehicle_image_angles WHERE image_id = @id", ("id", claims[2].ImageId)));
        Assert.Equal(["bumper", "tailgate"], await ImageRows.ScalarAsync<string[]>(cs,
            "SELECT array_agg(component_name ORDER BY component_name) FROM image_spatial_metadata WHERE image_id = @id", ("id", claims[1].ImageId)));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_spatial_metadata WHERE image_id <> @id", ("id", claims[1].ImageId)));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome = 'complete'"));
        Assert.Equal("test", await ImageRows.ScalarAsync<string>(cs,
            "SELECT ai_scan_metadata->>'provider' FROM vehicle_images WHERE id = @id", ("id", claims[2].ImageId)));
    }

    [Fact]
    public async Task CompleteMany_OneResultTheDatabaseRefuses_NothingOfTheBatchIsHalfWritten()
    {
        var (cs, app, writer, claims) = await ClaimedAsync(2);
        await using var _ = app;
        // A bounding box outside the image breaks a check constraint: the whole statement rolls back.
        await Assert.ThrowsAsync<PostgresException>(() => writer.WriteTogetherAsync(
        [
            new Completion(claims[0], Result("front")),
            new Completion(claims[1], Result("rear", Part("mirror", x: 5))),
        ], Ct));

        Assert.Equal(0L, await ImageRows.CountAsync(cs, "processing_status = 'complete'"));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));
    }

    [Fact]
    public async Task Writer_OneBadResultAmongGoodOnes_GoodOnesAreWrittenAndTheBadOneFailsAlone()
    {
        var (cs, app, _, claims) = await ClaimedAsync(4);
        await using var _ = app;
        var log = new WarningLog();
        var writer = new CompletionWriter(app.Services.GetRequiredService<NpgsqlDataSource>(), log);

        // Hold the writer's first write on a row lock, so the next three queue up behind it and go
        // together: one statement that the bad result breaks for all three.
        await using var blocker = new NpgsqlConnection(cs);
        await blocker.OpenAsync(Ct);
        await using var tx = await blocker.BeginTransactionAsync(Ct);
        await using (var lockJob = new NpgsqlCommand("SELECT 1 FROM image_processing_jobs WHERE id = @id FOR UPDATE", blocker, tx))
        {
            lockJob.Parameters.AddWithValue("id", claims[3].JobId);
            await lockJob.ExecuteScalarAsync(Ct);
        }

        var first = writer.CompleteAsync(new Completion(claims[3], Result("front")));
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 1, "the first write to wait on the lock");
        var bad = writer.CompleteAsync(new Completion(claims[0], Result("rear", Part("mirror", x: 5))));
        var good = claims.Skip(1).Take(2).Select(c => writer.CompleteAsync(new Completion(c, Result("front")))).ToList();
        await tx.RollbackAsync(Ct);

        Assert.True(await first);
        var goodWritten = await Task.WhenAll(good);
        Assert.Equal([true, true], goodWritten);
        await Assert.ThrowsAsync<PostgresException>(() => bad);
        Assert.Equal(["Writing 3 completions together failed"], log.Messages.Select(m => m[..m.IndexOf(" (", StringComparison.Ordinal)]));
        Assert.Equal(3L, await ImageRows.CountAsync(cs, "processing_status = 'complete'"));
        Assert.Equal("processing", await StatusAsync(cs, claims[0].ImageId));
    }

    [Fact]
    public async Task Writer_DatabaseUnreachable_EveryCompletionFailsAtOnceWithoutOneByOneRetries()
    {
        await using var nowhere = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=x;Password=x;Timeout=2");
        var log = new WarningLog();
        var writer = new CompletionWriter(nowhere, log);
        var claim = new ClaimKey(1, Guid.NewGuid(), 1, "worker", DateTimeOffset.UtcNow);

        var writes = Enumerable.Range(0, 5).Select(i => writer.CompleteAsync(new Completion(claim with { JobId = i }, Result("front")))).ToList();

        foreach (var write in writes)
            await Assert.ThrowsAsync<NpgsqlException>(() => write);
        Assert.Empty(log.Messages);
    }

    [Fact]
    public async Task Worker_ResultTheDatabaseRefuses_FailedAttemptWithItsReasonNotAnExpiredLease()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var analyzer = new RefusedResultAnalyzer();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Processing:Workers"] = "2", ["Processing:MaxAttempts"] = "1", ["Processing:LeaseSeconds"] = "600",
        }, s => s.AddSingleton<IImageAnalyzer>(analyzer));
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        // A lease of ten minutes: only the failure path, not the rescuer, can end this within the wait.
        await ImageRows.WaitForAsync(async () => await StatusAsync(cs, id) == "failed", "the image to fail");
        Assert.StartsWith("the database refused the result: ", await ImageRows.ScalarAsync<string>(cs,
            "SELECT processing_error FROM vehicle_images WHERE id = @id", ("id", id)));
        Assert.Equal("failed", await ImageRows.ScalarAsync<string>(cs, "SELECT outcome FROM image_processing_attempts WHERE image_id = @id", ("id", id)));
    }

    [Fact]
    public async Task Delete_LosesADeadlockAgainstTheQueue_ThePersonStillGetsTheirDelete()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        // Queue statements lock the job, then the image; a delete locks the image, then (cascading)
        // the job. Play the queue's side by hand so the two meet head on.
        await using var queueSide = new NpgsqlConnection(cs);
        await queueSide.OpenAsync(Ct);
        await using var tx = await queueSide.BeginTransactionAsync(Ct);
        await using (var lockJob = new NpgsqlCommand("SELECT 1 FROM image_processing_jobs WHERE image_id = @id FOR UPDATE", queueSide, tx))
        {
            lockJob.Parameters.AddWithValue("id", id);
            await lockJob.ExecuteScalarAsync(Ct);
        }

        var delete = app.Services.GetRequiredService<VehicleImages.Core.Images.ImageService>()
            .DeleteAsync(new VehicleImages.Core.Images.Caller(Guid.NewGuid(), IsAdmin: true), id, Ct);
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 1, "the delete to wait on the job");
        // The delete has waited longer, so its deadlock check runs first and PostgreSQL aborts it.
        await using (var touchImage = new NpgsqlCommand("UPDATE vehicle_images SET file_name = file_name WHERE id = @id", queueSide, tx))
        {
            touchImage.Parameters.AddWithValue("id", id);
            await touchImage.ExecuteNonQueryAsync(Ct);
        }

        await tx.CommitAsync(Ct);
        Assert.True(await delete);
        Assert.Equal(0L, await ImageRows.CountAsync(cs, "id = @id", ("id", id)));
    }

    [Fact]
    public void Reserve_SlowJobs_TwoClaimsPerWorker()
    {
        var reserve = new ClaimReserve(4);
        Assert.Equal(8, reserve.Target); // nothing measured yet
        reserve.RoundTripTook(TimeSpan.FromMilliseconds(2));
        reserve.JobTook(TimeSpan.FromMilliseconds(800)); // a remote provider
        Assert.Equal(8, reserve.Target);
    }

    [Fact]
    public void Reserve_QuickJobs_HoldsMoreUpToTheCap()
    {
        var reserve = new ClaimReserve(4);
        reserve.RoundTripTook(TimeSpan.FromMilliseconds(2));
        reserve.JobTook(TimeSpan.FromMilliseconds(1)); // one job per ms: 1 + 2 × 2 ms / 1 ms = 5 a worker
        Assert.Equal(20, reserve.Target);

        for (var i = 0; i < 100; i++)
            reserve.JobTook(TimeSpan.FromMilliseconds(0.01));
        Assert.Equal(4 * ClaimReserve.MaxPerWorker, reserve.Target);
        Assert.Equal(reserve.Capacity, reserve.Target);
    }

    private sealed class RefusedResultAnalyzer : IImageAnalyzer
    {
        public Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, ITierResults results, CancellationToken cancellationToken) =>
            Task.FromResult(Result("rear", Part("mirror", x: 5)));
    }

    /// <summary>Keeps the warnings a component logs.</summary>
    private sealed class WarningLog : Microsoft.Extensions.Logging.ILogger<CompletionWriter>
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning)
                Messages.Enqueue(formatter(state, exception));
        }
    }

    private static Task<string> StatusAsync(string cs, Guid id) =>
        ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id));
}
