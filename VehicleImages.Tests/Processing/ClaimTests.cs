using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Chores;

namespace VehicleImages.Tests.Processing;

/// <summary>A claim as an object: how it ends, how it keeps its lease, and what disposing it does.</summary>
public sealed class ClaimTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(string Cs, TestApp App, Guid ImageId)> StartAsync()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        return (cs, app, (await ImageRows.InsertAsync(cs, 1))[0]);
    }

    private static Task<string> JobAsync(string cs, Guid id) => ImageRows.ScalarAsync<string>(cs,
        "SELECT j.status || ' ' || j.attempt || ' ' || coalesce(j.locked_by, '-') || ' ' || v.processing_status FROM image_processing_jobs j JOIN vehicle_images v ON v.id = j.image_id WHERE j.image_id = @id",
        ("id", id));

    [Fact]
    public async Task Dispose_ClaimThatNothingEnded_GoesBackAtOnceWithItsAttemptRefunded()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        var claim = Assert.Single(await app.QueueAs("w", TimeSpan.FromMinutes(1)).ClaimAsync(1, Ct));
        Assert.Equal("processing 1 w processing", await JobAsync(cs, id));

        await claim.DisposeAsync();

        Assert.Equal("pending 0 - pending", await JobAsync(cs, id));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));
    }

    [Fact]
    public async Task Fail_ByAnOutageOfAProviderAlreadyMarkedDown_SpendsNoAttemptEvenWhenItWasTheLast()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        var queue = app.QueueAs("w", TimeSpan.FromMinutes(1));

        // An earlier outage failure before anyone marked the provider down: that attempt is spent for now.
        var first = Assert.Single(await queue.ClaimAsync(1, Ct));
        Assert.False((await first.FailAsync("connection refused", permanent: false, outageOf: "OpenAI"))!.Final);
        await ImageRows.ScalarAsync<long>(cs, "WITH u AS (UPDATE image_processing_jobs SET run_at = now() RETURNING 1) SELECT count(*) FROM u");
        Assert.Equal("pending 1 - pending", await JobAsync(cs, id));

        // Another instance marks it down (its give-back has passed this job by); this photo's next
        // outage failure, even one that would have been its last, gives back both attempts.
        await ImageRows.ScalarAsync<long>(cs, """
            WITH i AS (INSERT INTO analysis_providers (name, model, state, since, last_error, next_probe_at, updated_at)
                       VALUES ('OpenAI', 'm', 'unavailable', now(), '500', now() + interval '30 seconds', now()) RETURNING 1)
            SELECT count(*) FROM i
            """);
        var second = Assert.Single(await queue.ClaimAsync(1, Ct));
        var outcome = await second.FailAsync("connection refused", permanent: true, outageOf: "OpenAI");

        Assert.False(outcome!.Final);
        Assert.Equal("pending 0 - pending", await JobAsync(cs, id));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome = 'retry'"));

        // A failure that is not an outage still spends its attempt.
        var third = Assert.Single(await queue.ClaimAsync(1, Ct));
        Assert.False((await third.FailAsync("unreadable answer", permanent: false))!.Final);
        Assert.Equal("pending 1 - pending", await JobAsync(cs, id));
    }

    private static Task InsertProviderAsync(string cs, string state) => ImageRows.ScalarAsync<int>(cs, """
        INSERT INTO analysis_providers (name, model, state, since, last_error, next_probe_at, updated_at)
        VALUES ('OpenAI', 'm', @state, now(), NULL, now(), now()) RETURNING 1
        """, ("state", state));

    /// <summary>Waits until another session of this database waits for a row lock.</summary>
    private static Task SomeoneWaitsForALockAsync(string cs) => ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0, "a statement to wait for the row lock");

    [Fact]
    public async Task Fail_ByAnOutageWhileAnotherInstanceMarksItDown_WaitsForTheMarkAndSpendsNothing()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        await InsertProviderAsync(cs, "available");
        var queue = app.QueueAs("w", TimeSpan.FromMinutes(1));
        var first = Assert.Single(await queue.ClaimAsync(1, Ct));
        await first.FailAsync("500", permanent: false, outageOf: "OpenAI");
        await ImageRows.ScalarAsync<long>(cs, "WITH u AS (UPDATE image_processing_jobs SET run_at = now() RETURNING 1) SELECT count(*) FROM u");
        var second = Assert.Single(await queue.ClaimAsync(1, Ct));

        // Another instance is between flipping the provider and committing (its give-back has run, or
        // will run, without this job, which is still in processing).
        await using var mark = new NpgsqlConnection(cs);
        await mark.OpenAsync(Ct);
        await using var transaction = await mark.BeginTransactionAsync(Ct);
        await using (var flip = new NpgsqlCommand("UPDATE analysis_providers SET state = 'unavailable' WHERE name = 'OpenAI'", mark, transaction))
            await flip.ExecuteNonQueryAsync(Ct);
        var failing = second.FailAsync("500", permanent: false, outageOf: "OpenAI");
        await SomeoneWaitsForALockAsync(cs);
        await transaction.CommitAsync(Ct);

        Assert.False((await failing)!.Final);
        Assert.Equal("pending 0 - pending", await JobAsync(cs, id));
    }

    [Fact]
    public async Task MarkingAProviderDown_WhileAnOutageFailureCommits_GivesThatFailuresAttemptBack()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        await InsertProviderAsync(cs, "available");
        Assert.Single(await app.QueueAs("w", TimeSpan.FromMinutes(1)).ClaimAsync(1, Ct));

        // A claim's outage failure has read the provider (available) and is about to commit its job as
        // spent, the way ClaimStatements.FailAsync leaves it.
        await using var failure = new NpgsqlConnection(cs);
        await failure.OpenAsync(Ct);
        await using var transaction = await failure.BeginTransactionAsync(Ct);
        await using (var fail = new NpgsqlCommand("""
            SELECT 1 FROM analysis_providers WHERE name = 'OpenAI' FOR SHARE;
            UPDATE image_processing_jobs SET status = 'pending', locked_by = NULL, lease_until = NULL,
                outage_provider = 'OpenAI', outage_attempts = 1, updated_at = now();
            UPDATE vehicle_images SET processing_status = 'pending';
            """, failure, transaction))
            await fail.ExecuteNonQueryAsync(Ct);
        var provider = new ProviderSettings("OpenAI", new Uri("http://127.0.0.1:9/v1/"), "m", null, 60, 5);
        var marking = app.Services.GetRequiredService<ProviderHealth>().ReportOutageAsync(provider, "500", TimeSpan.FromSeconds(30), Ct);
        await SomeoneWaitsForALockAsync(cs);
        await transaction.CommitAsync(Ct);
        await marking;

        Assert.Equal("pending 0 - pending", await JobAsync(cs, id));
        Assert.Equal("unavailable", await ImageRows.ScalarAsync<string>(cs, "SELECT state FROM analysis_providers"));
    }

    [Fact]
    public async Task Abandon_TheBookkeepingFailed_LeavesTheLeaseForTheRescuer()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        var claim = Assert.Single(await app.QueueAs("w", TimeSpan.FromMinutes(1)).ClaimAsync(1, Ct));

        claim.Abandon();
        await claim.DisposeAsync();

        Assert.Equal("processing 1 w processing", await JobAsync(cs, id));
    }

    [Fact]
    public async Task KeepAlive_RenewsTheLeaseUntilAnotherOwnerTakesTheJob_ThenSaysItIsLost()
    {
        var (cs, app, id) = await StartAsync();
        await using var _ = app;
        var claim = Assert.Single(await app.QueueAs("w", TimeSpan.FromSeconds(3)).ClaimAsync(1, Ct));
        var firstLease = await ImageRows.ScalarAsync<DateTime>(cs, "SELECT lease_until FROM image_processing_jobs WHERE image_id = @id", ("id", id));

        claim.KeepAlive(Ct);
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<DateTime>(cs,
            "SELECT lease_until FROM image_processing_jobs WHERE image_id = @id", ("id", id)) > firstLease, "the lease to be renewed");
        Assert.False(claim.Lost.IsCancellationRequested);
        await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_jobs SET locked_by = 'someone else' WHERE image_id = @id RETURNING 1", ("id", id));
        await ImageRows.WaitForAsync(() => Task.FromResult(claim.Lost.IsCancellationRequested), "the claim to notice it was lost");
        claim.Abandon();
        await claim.DisposeAsync();

        Assert.Equal("processing 1 someone else processing", await JobAsync(cs, id));
    }

    [Fact]
    public async Task MaintenanceSchedule_EveryChore_IsRegisteredWithAPositiveInterval()
    {
        var (_, app, _) = await StartAsync();
        await using var _ = app;

        var chores = app.Services.GetRequiredService<MaintenanceSchedule>().Chores;

        Assert.Equal([typeof(RescueExpiredClaims), typeof(SweepUnqueuedImages), typeof(PruneFinishedJobs), typeof(SweepOrphanFiles), typeof(MeasureQueueDepth), typeof(SweepExpiredUploads),
            typeof(VehicleImages.Core.Privacy.PrivacyBackfill), typeof(VehicleImages.Core.Embeddings.BackfillEmbeddings)],
            chores.Select(c => c.Chore));
        Assert.All(chores, c => Assert.IsAssignableFrom<IChore>(app.Services.GetRequiredService(c.Chore)));
        Assert.All(chores, c => Assert.True(c.Every > TimeSpan.Zero));
    }
}
