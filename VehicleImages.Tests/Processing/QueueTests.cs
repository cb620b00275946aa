using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Tests.Processing;

/// <summary>The queue against the real database, with workers of real app instances and a scripted analyzer.</summary>
public sealed class QueueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string?> FastRetries = new()
    {
        ["Processing:RetryDelaysSeconds:0"] = "0",
        ["Processing:LeaseSeconds"] = "5",
        ["Processing:MaxAttempts"] = "3",
    };

    private static async Task<string> DatabaseAsync() => await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

    private static Task<TestApp> StartAsync(string cs, ScriptedAnalyzer analyzer, Dictionary<string, string?>? settings = null, string? storage = null) =>
        TestApp.StartAsync(cs, settings ?? FastRetries, s => s.AddSingleton<IImageAnalyzer>(analyzer), storage);

    private static Task WaitAllAsync(string cs, IEnumerable<Guid> ids, string status = "complete") =>
        ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = @s", ("ids", ids.ToArray()), ("s", status)) == ids.Count(),
            $"{ids.Count()} images to be {status}");

    [Fact]
    public async Task Workers_TwoInstancesSharingADatabase_AnalyzeEveryImageExactlyOnce()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Delay = TimeSpan.FromMilliseconds(20) };
        await using var one = await StartAsync(cs, analyzer);
        await using var two = await StartAsync(cs, analyzer);

        var ids = await ImageRows.InsertAsync(cs, 60);
        await WaitAllAsync(cs, ids);

        Assert.All(ids, id => Assert.Equal(1, analyzer.Calls.GetValueOrDefault(id)));
        Assert.Equal(60L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome = 'complete' AND attempt = 1"));
        Assert.Equal(60L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_image_angles WHERE source = 'ai'"));
    }

    [Fact]
    public async Task History_PhotoOrVehicleDeleted_ItsAttemptsGoWithIt()
    {
        // The history has no foreign key to the photo (ADR 015); a trigger takes its rows along, for a
        // photo deleted by itself and for one deleted with its vehicle, and leaves the others'.
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer();
        await using var app = await StartAsync(cs, analyzer);
        var ids = await ImageRows.InsertAsync(cs, 3);
        await WaitAllAsync(cs, ids);
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));

        await ImageRows.ScalarAsync<long>(cs, "WITH d AS (DELETE FROM vehicle_images WHERE id = @id RETURNING 1) SELECT count(*) FROM d", ("id", ids[0]));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE image_id = @id", ("id", ids[0])));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));

        await ImageRows.ScalarAsync<long>(cs, "WITH d AS (DELETE FROM vehicles RETURNING 1) SELECT count(*) FROM d");
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));
    }

    [Fact]
    public async Task Lease_ClaimWaitingBehindASlowJob_IsRenewedAndNeverRescued()
    {
        // One worker holds a second claim in reserve; the job ahead takes longer than a lease.
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Delay = TimeSpan.FromSeconds(7) };
        await using var app = await StartAsync(cs, analyzer, new(FastRetries) { ["Processing:Workers"] = "1", ["Processing:LeaseSeconds"] = "5" });
        var ids = await ImageRows.InsertAsync(cs, 2);

        await WaitAllAsync(cs, ids);

        Assert.Equal(["complete", "complete"], await ImageRows.ScalarAsync<string[]>(cs, "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts"));
        Assert.All(ids, id => Assert.Equal(1, analyzer.Calls[id]));
    }

    [Fact]
    public async Task Claim_LostToTheRescuer_LateCompletionIsDropped()
    {
        var cs = await DatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Processing:Workers"] = "0", ["Processing:MaxAttempts"] = "4", ["Processing:RetryDelaysSeconds:0"] = "0",
        });
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        var stale = Assert.Single(await app.QueueAs("worker-a", TimeSpan.FromMilliseconds(1)).ClaimAsync(10, Ct));
        await Task.Delay(50, Ct);
        Assert.Empty(await app.Services.GetRequiredService<JobQueue>().RescueExpiredAsync(Ct));
        var fresh = Assert.Single(await app.QueueAs("worker-b", TimeSpan.FromMinutes(1)).ClaimAsync(10, Ct));

        var result = new AnalysisResult(new() { ["provider"] = "x" }, new AiCategorization("interior", "dashboard", 0.5), [], 1);
        Assert.Equal((id, 1, 2), (fresh.ImageId, stale.Attempt, fresh.Attempt));
        Assert.False(await stale.RenewAsync(Ct));
        await Assert.ThrowsAsync<ClaimLostException>(() => stale.SaveAsync(Tier.Classification, new System.Text.Json.Nodes.JsonObject(), null, Ct));
        Assert.False(await stale.CompleteAsync(result));
        Assert.Equal("processing", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id)));
        Assert.True(await fresh.CompleteAsync(result));
        Assert.Equal("complete", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id)));
        // Only the live claim wrote results, once.
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM vehicle_image_angles WHERE image_id = @id", ("id", id)));
        Assert.Equal(["rescued", "complete"], (await ImageRows.ScalarAsync<string[]>(cs,
            "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts WHERE image_id = @id", ("id", id))));
    }

    [Fact]
    public async Task Rescue_WorkerThatStoppedRenewing_JobFinishedByAnotherWorker()
    {
        var cs = await DatabaseAsync();
        await using var pagesOnly = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var id = (await ImageRows.InsertAsync(cs, 1))[0];
        // A worker of a process that then died: it claimed the job and never renewed its lease.
        Assert.Single(await pagesOnly.QueueAs("dead-process", TimeSpan.FromSeconds(1)).ClaimAsync(1, Ct));

        var analyzer = new ScriptedAnalyzer();
        await using var worker = await StartAsync(cs, analyzer);
        await WaitAllAsync(cs, [id]);

        Assert.Equal(["rescued", "complete"], await ImageRows.ScalarAsync<string[]>(cs,
            "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts WHERE image_id = @id", ("id", id)));
        Assert.Equal(2, await ImageRows.CompletedAttemptAsync(cs, id));
        Assert.Equal(1, analyzer.Calls[id]);
    }

    [Fact]
    public async Task Retry_TransientErrors_FollowTheScheduleThenFailWithHistoryAndAlert()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Before = (_, _, _) => throw new AnalysisException(AnalysisFailure.Transient, "provider answered 500") };
        await using var app = await StartAsync(cs, analyzer);
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        await WaitAllAsync(cs, [id], "failed");

        Assert.Equal(3, analyzer.Calls[id]);
        Assert.Equal("provider answered 500", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_error FROM vehicle_images WHERE id = @id", ("id", id)));
        Assert.Equal(["retry", "retry", "failed"], await ImageRows.ScalarAsync<string[]>(cs,
            "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts WHERE image_id = @id", ("id", id)));
        // The alert is written right after the failure commits: wait for it, then check there is exactly one.
        await ImageRows.WaitForAsync(async () =>
            await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM admin_alerts WHERE image_id = @id", ("id", id)) > 0, "the failure alert");
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM admin_alerts WHERE kind = 'image_failed' AND image_id = @id", ("id", id)));
    }

    [Fact]
    public async Task Retry_FailedAttempt_WaitsTheConfiguredDelayMeasuredByTheDatabase()
    {
        var cs = await DatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var queue = app.QueueAs("w", TimeSpan.FromMinutes(1));
        var id = (await ImageRows.InsertAsync(cs, 1))[0];
        var waits = new List<double>();

        for (var attempt = 1; attempt <= 4; attempt++)
        {
            await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_jobs SET run_at = now() WHERE image_id = @id RETURNING 1", ("id", id));
            var claim = Assert.Single(await queue.ClaimAsync(1, Ct));
            Assert.Equal(attempt, claim.Attempt);
            var final = (await claim.FailAsync("timeout", permanent: false))!.Final;
            Assert.Equal(attempt == 4, final);
            if (attempt < 4)
                waits.Add(await ImageRows.ScalarAsync<double>(cs,
                    "SELECT extract(epoch FROM run_at - updated_at)::float8 FROM image_processing_jobs WHERE image_id = @id", ("id", id)));
        }

        // 5, 15 and 60 seconds, each within the ±20% jitter.
        Assert.Collection(waits,
            w => Assert.InRange(w, 4.0, 6.0),
            w => Assert.InRange(w, 12.0, 18.0),
            w => Assert.InRange(w, 48.0, 72.0));
        Assert.Equal("failed", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id)));
    }

    [Fact]
    public void RetrySchedule_Delays_AreTheScheduleWithBoundedJitterAndTheLastRepeats()
    {
        var policy = new RetrySchedule(Options.Create(new ProcessingOptions { RetryDelaysSeconds = [5, 15, 60] }));
        foreach (var seed in Enumerable.Range(0, 50))
        {
            Assert.InRange(policy.Delay(1, new Random(seed)).TotalSeconds, 4, 6);
            Assert.InRange(policy.Delay(2, new Random(seed)).TotalSeconds, 12, 18);
            Assert.InRange(policy.Delay(3, new Random(seed)).TotalSeconds, 48, 72);
            Assert.InRange(policy.Delay(7, new Random(seed)).TotalSeconds, 48, 72);
        }

        Assert.NotEqual(policy.Delay(1, new Random(1)), policy.Delay(1, new Random(2)));
    }

    [Fact]
    public async Task RateLimit_429WithRetryAfter_SpendsNoAttemptAndTheImageStillCompletes()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer
        {
            Before = (_, call, _) => call == 1
                ? throw new AnalysisException(AnalysisFailure.RateLimited, "429", TimeSpan.FromSeconds(1))
                : Task.CompletedTask,
        };
        await using var app = await StartAsync(cs, analyzer);
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        await WaitAllAsync(cs, [id]);

        Assert.Equal(2, analyzer.Calls[id]);
        Assert.Equal(1, await ImageRows.CompletedAttemptAsync(cs, id));
        Assert.Equal(["complete"], await ImageRows.ScalarAsync<string[]>(cs,
            "SELECT array_agg(outcome ORDER BY id) FROM image_processing_attempts WHERE image_id = @id", ("id", id)));
    }

    [Fact]
    public void Throttle_AfterA429_HoldsEveryCallerForRetryAfter()
    {
        var throttle = new ProviderThrottle(60, TimeProvider.System);
        Assert.Equal(TimeSpan.Zero, throttle.PausedFor);

        throttle.PauseFor(TimeSpan.FromSeconds(30));
        throttle.PauseFor(TimeSpan.FromSeconds(5)); // a shorter wait never shortens a longer one

        Assert.InRange(throttle.PausedFor.TotalSeconds, 25, 30);
    }

    [Fact]
    public async Task Permanent_Error_FailsAtOnce_AndRetryQueuesItAgain()
    {
        var cs = await DatabaseAsync();
        var permanent = true;
        var analyzer = new ScriptedAnalyzer
        {
            Before = (_, _, _) => permanent ? throw new AnalysisException(AnalysisFailure.Permanent, "the provider rejected the API key") : Task.CompletedTask,
        };
        await using var app = await StartAsync(cs, analyzer);
        using var admin = await app.CreateUserClientAsync();
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        await WaitAllAsync(cs, [id], "failed");
        Assert.Equal(1, analyzer.Calls[id]);
        var conflict = await admin.PostAsync($"api/images/{Guid.NewGuid()}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.NotFound, conflict.StatusCode);

        permanent = false;
        var retry = await admin.PostAsync($"api/images/{id}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        await WaitAllAsync(cs, [id]);
        var again = await admin.PostAsync($"api/images/{id}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        // Fresh attempts: the new job started again at 1.
        Assert.Equal(1, await ImageRows.CompletedAttemptAsync(cs, id));
    }

    [Fact]
    public async Task Alerts_ManyFailuresInAFewMinutes_OneBurstAlertNotHundreds()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Before = (_, _, _) => throw new AnalysisException(AnalysisFailure.Permanent, "bad request") };
        await using var app = await StartAsync(cs, analyzer);
        var ids = await ImageRows.InsertAsync(cs, 20);

        await WaitAllAsync(cs, ids, "failed");

        var kinds = await ImageRows.ScalarAsync<string[]>(cs, "SELECT array_agg(kind ORDER BY created_at) FROM admin_alerts");
        Assert.Equal(AlertsPerBurst, kinds.Count(k => k == "image_failed"));
        Assert.Single(kinds, k => k == "failure_burst");
    }

    private const int AlertsPerBurst = VehicleImages.Core.Alerts.AlertService.BurstThreshold;

    [Fact]
    public async Task Backfill_RowsInsertedByPlainSql_AreQueuedAndAnalyzed()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer();
        await using var app = await StartAsync(cs, analyzer, new(FastRetries) { ["Processing:Workers"] = "0" });
        using var admin = await app.CreateUserClientAsync();
        using var user = await app.CreateUserClientAsync();
        // The old system marked rows complete without an analysis; a script left pending rows without
        // their jobs (as one that bypassed the trigger would: the app's role may not switch triggers off).
        var claimedComplete = await ImageRows.InsertAsync(cs, 3, "complete");
        var bypassed = await ImageRows.InsertAsync(cs, 2, "pending");
        await ImageRows.ScalarAsync<long>(cs, "WITH gone AS (DELETE FROM image_processing_jobs WHERE image_id = ANY(@ids) RETURNING 1) SELECT count(*) FROM gone", ("ids", bypassed));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs"));

        Assert.Equal(HttpStatusCode.Forbidden, (await user.PostAsync("api/admin/processing/backfill", null, Ct)).StatusCode);
        var response = await admin.PostAsJsonAsync("api/admin/processing/backfill", new { }, Ct);
        var queued = await response.Content.ReadFromJsonAsync<QueuedResponse>(Ct);
        var again = await (await admin.PostAsync("api/admin/processing/backfill", null, Ct)).Content.ReadFromJsonAsync<QueuedResponse>(Ct);

        Assert.Equal(5, queued!.Queued);
        Assert.Equal(0, again!.Queued); // a live job each now: nothing queued twice
        await using var worker = await StartAsync(cs, analyzer);
        await WaitAllAsync(cs, claimedComplete.Concat(bypassed));
    }

    private sealed record QueuedResponse(int Queued);

    [Fact]
    public async Task Pause_HoldsEveryInstance_AndResumeLetsWorkFlow()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer();
        await using var app = await StartAsync(cs, analyzer);
        using var admin = await app.CreateUserClientAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("api/admin/processing/pause", null, Ct)).StatusCode);

        var id = (await ImageRows.InsertAsync(cs, 1))[0];
        // Several claim cycles pass (poll interval 2 s) while paused.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        var status = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("api/admin/processing", Ct);

        Assert.True(status.GetProperty("paused").GetBoolean());
        Assert.Equal(1, status.GetProperty("counts").GetProperty("pending").GetInt32());
        Assert.False(analyzer.Calls.ContainsKey(id));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("api/admin/processing/resume", null, Ct)).StatusCode);
        await WaitAllAsync(cs, [id]);
    }
}
