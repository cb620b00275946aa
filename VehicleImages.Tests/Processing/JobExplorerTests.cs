using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Admin;
using VehicleImages.Core.Processing.Monitoring;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Tests.Processing;

/// <summary>The admin's job explorer API: filters, paging, a job's timeline, bulk retry and cancel by ids or by filter.</summary>
public sealed class JobExplorerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(string Cs, TestApp App, HttpClient Admin)> StartAsync()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        return (cs, app, await app.CreateUserClientAsync());
    }

    [Fact]
    public async Task List_FiltersByStatusAndTextAndPagesOnTheServer()
    {
        var (cs, app, admin) = await StartAsync();
        await using var _ = app;
        using var __ = admin;
        var ids = await ImageRows.InsertAsync(cs, 30);
        await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_jobs SET status = 'failed', last_error = 'provider said 500' WHERE image_id = @id RETURNING 1", ("id", ids[0]));

        var page2 = await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?status=pending&page=2&pageSize=10", Ct);
        Assert.Equal(29, page2.GetProperty("total").GetInt64());
        Assert.Equal(10, page2.GetProperty("items").GetArrayLength());
        var item = page2.GetProperty("items")[0];
        Assert.Equal(("pending", 4, 0), (item.GetProperty("status").GetString(), item.GetProperty("maxAttempts").GetInt32(), item.GetProperty("priority").GetInt32()));
        // q searches file names (IMG_1, IMG_10 … IMG_19) and errors.
        Assert.Equal(11, (await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?q=IMG_1", Ct)).GetProperty("total").GetInt64());
        var byError = await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?q=said%20500", Ct);
        Assert.Equal(ids[0], byError.GetProperty("items").EnumerateArray().Single().GetProperty("imageId").GetGuid());
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?q=%25", Ct)).GetProperty("total").GetInt64()); // a literal %, not a wildcard
        using var stranger = await app.CreateUserClientAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync("api/admin/jobs", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.PostAsJsonAsync("api/admin/jobs/cancel", new { jobIds = new[] { 1 } }, Ct)).StatusCode);
    }

    [Fact]
    public async Task Detail_AJobsAttempts_FormItsTimeline()
    {
        var (cs, app, admin) = await StartAsync();
        await using var _ = app;
        using var __ = admin;
        await ImageRows.InsertAsync(cs, 1);
        var claim = Assert.Single(await app.QueueAs("w", TimeSpan.FromMinutes(1)).ClaimAsync(1, Ct));
        await claim.FailAsync("the provider timed out", permanent: false);

        var detail = await admin.GetFromJsonAsync<JsonElement>($"api/admin/jobs/{claim.JobId}", Ct);

        Assert.Equal(claim.ImageId, detail.GetProperty("imageId").GetGuid());
        var attempt = detail.GetProperty("attempts").EnumerateArray().Single();
        Assert.Equal((1, "retry", "the provider timed out"),
            (attempt.GetProperty("attempt").GetInt32(), attempt.GetProperty("outcome").GetString(), attempt.GetProperty("error").GetString()));
        Assert.True(attempt.GetProperty("durationMs").GetInt64() >= 0);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("api/admin/jobs/999999", Ct)).StatusCode);
    }

    [Fact]
    public async Task Complete_TheJobLeavesTheJobTable_AndTheExplorerTheReportsAndTheEventStillShowIt()
    {
        var (cs, app, admin) = await StartAsync();
        await using var _ = app;
        using var __ = admin;
        var ids = await ImageRows.InsertAsync(cs, 2);
        await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_jobs SET priority = @p WHERE image_id = @id RETURNING 1",
            ("p", JobPriority.Backfill), ("id", ids[0]));
        var queue = app.QueueAs("w", TimeSpan.FromMinutes(1));
        var first = Assert.Single(await queue.ClaimAsync(1, Ct));
        Assert.Equal(ids[1], first.ImageId); // uploads before backfill
        var backfill = Assert.Single(await queue.ClaimAsync(1, Ct));
        Assert.False((await backfill.FailAsync("timeout", permanent: false))!.Final);
        await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_jobs SET run_at = now() WHERE image_id = @id RETURNING 1", ("id", ids[0]));
        var claim = Assert.Single(await queue.ClaimAsync(1, Ct));
        Assert.Equal((ids[0], 2), (claim.ImageId, claim.Attempt));
        await using var listener = new NpgsqlConnection(cs);
        await listener.OpenAsync(Ct);
        var events = new List<string>();
        listener.Notification += (_, e) => events.Add(e.Payload);
        await using (var listen = new NpgsqlCommand("LISTEN image_status", listener))
            await listen.ExecuteNonQueryAsync(Ct);

        Assert.True(await claim.CompleteAsync(new AnalysisResult(new() { ["provider"] = "x" }, new AiCategorization("interior", "dashboard", 0.5), [], 1)));

        // The job row is gone; its record is the history: a retry and the completing attempt with the job's priority.
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs WHERE id = @id", ("id", claim.JobId)));
        Assert.Equal((short)JobPriority.Backfill, await ImageRows.ScalarAsync<short>(cs,
            "SELECT priority FROM image_processing_attempts WHERE job_id = @id AND outcome = 'complete'", ("id", claim.JobId)));
        // The status event still counts the attempts (from the history, as the job row is gone).
        List<JsonElement> Completes() => events.SelectMany(e => JsonDocument.Parse(e).RootElement.EnumerateArray().Select(x => x.Clone()))
            .Where(x => x.GetProperty("status").GetString() == "complete").ToList();
        await ImageRows.WaitForAsync(async () =>
        {
            await using var read = new NpgsqlCommand("SELECT 1", listener); // a round trip delivers what has arrived
            await read.ExecuteNonQueryAsync(Ct);
            return Completes().Count > 0;
        }, "the complete event");
        var complete = Assert.Single(Completes());
        Assert.Equal((ids[0], 2), (complete.GetProperty("imageId").GetGuid(), complete.GetProperty("attempts").GetInt32()));
        // The explorer lists it under complete with its job id, attempt and priority, and shows its timeline.
        var listed = await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?status=complete", Ct);
        var item = listed.GetProperty("items").EnumerateArray().Single();
        Assert.Equal((claim.JobId, ids[0], "complete", 2, (int)JobPriority.Backfill),
            (item.GetProperty("jobId").GetInt64(), item.GetProperty("imageId").GetGuid(), item.GetProperty("status").GetString(),
             item.GetProperty("attempt").GetInt32(), item.GetProperty("priority").GetInt32()));
        Assert.Equal(2, (await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs", Ct)).GetProperty("total").GetInt64());
        var explorer = app.Services.GetRequiredService<JobExplorer>();
        Assert.Equal(new Dictionary<string, long> { ["complete"] = 1, ["processing"] = 1 },
            (await explorer.CountsByStatusAsync(new JobFilter(), Ct)).ToDictionary());
        var detail = await admin.GetFromJsonAsync<JsonElement>($"api/admin/jobs/{claim.JobId}", Ct);
        Assert.Equal("complete", detail.GetProperty("status").GetString());
        Assert.Equal(["retry", "complete"], detail.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("outcome").GetString()));
        // The photo's processing view counts its attempts from the history too.
        var view = await app.Services.GetRequiredService<ProcessingReports>().ForImageAsync(ids[0], "complete", null, Ct);
        Assert.Equal((2, 2, (DateTimeOffset?)null), (view.Attempts, view.History.Count, view.NextAttemptAt));
        // Bulk actions leave a completed job alone, as before.
        var retried = await admin.PostAsJsonAsync("api/admin/jobs/retry", new { jobIds = new[] { claim.JobId } }, Ct);
        Assert.Equal(0, (await retried.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("affected").GetInt32());
        // Listed for as long as completed job rows used to stay before the pruning chore removed them.
        await ImageRows.ScalarAsync<int>(cs, "UPDATE image_processing_attempts SET finished_at = now() - interval '2 days' WHERE job_id = @id RETURNING 1",
            ("id", claim.JobId));
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("api/admin/jobs?status=complete", Ct)).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Cancel_ByIds_NeverRunsAndThePhotoSaysSo_ThenRetryByFilterQueuesItAgain()
    {
        var (cs, app, admin) = await StartAsync();
        await using var _ = app;
        using var __ = admin;
        var ids = await ImageRows.InsertAsync(cs, 3);
        var jobIds = await ImageRows.ScalarAsync<long[]>(cs, "SELECT array_agg(id ORDER BY id) FROM image_processing_jobs");

        var cancelled = await admin.PostAsJsonAsync("api/admin/jobs/cancel", new { jobIds = jobIds[..2] }, Ct);
        Assert.Equal(2, (await cancelled.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("affected").GetInt32());
        Assert.Equal(["cancelled", "cancelled", "pending"], await ImageRows.ScalarAsync<string[]>(cs, "SELECT array_agg(status ORDER BY id) FROM image_processing_jobs"));
        Assert.Equal("cancelled by an administrator", await ImageRows.ScalarAsync<string>(cs,
            "SELECT processing_error FROM vehicle_images WHERE id = @id AND processing_status = 'cancelled'", ("id", ids[0])));
        // Never claimed, and the sweep for photos never processed leaves it alone.
        var claimed = Assert.Single(await app.QueueAs("w", TimeSpan.FromMinutes(1)).ClaimAsync(10, Ct));
        Assert.Equal(ids[2], claimed.ImageId);
        Assert.Equal(0, await app.Services.GetRequiredService<ProcessingCommands>().BackfillAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("api/admin/jobs/retry", new { }, Ct)).StatusCode);

        var retried = await admin.PostAsJsonAsync("api/admin/jobs/retry", new { filter = new { status = "cancelled" } }, Ct);

        Assert.Equal(2, (await retried.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("affected").GetInt32());
        Assert.Equal(2L, await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'pending'", ("ids", ids[..2])));
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs WHERE status = 'pending'"));
    }

    [Fact]
    public async Task Cancelled_IsItsOwnStatus_CountedApart_TheOwnersRetryIs409_AnAdminsRetryQueuesIt()
    {
        var (cs, app, admin) = await StartAsync();
        await using var _ = app;
        using var __ = admin;
        using var owner = await app.CreateUserClientAsync();
        var ownerId = (await owner.GetFromJsonAsync<JsonElement>("api/auth/me", Ct)).GetProperty("id").GetGuid();
        var ids = await ImageRows.InsertAsync(cs, 2);
        await ImageRows.ScalarAsync<int>(cs, """
            UPDATE vehicles SET user_id = @u WHERE id IN (SELECT vehicle_id FROM vehicle_images WHERE id = ANY(@ids));
            UPDATE vehicle_images SET user_id = @u WHERE id = ANY(@ids);
            SELECT 1
            """, ("u", ownerId), ("ids", ids));
        var jobId = await ImageRows.ScalarAsync<long>(cs, "SELECT id FROM image_processing_jobs WHERE image_id = @id", ("id", ids[0]));

        var cancelled = await admin.PostAsJsonAsync("api/admin/jobs/cancel", new { jobIds = new[] { jobId } }, Ct);
        Assert.Equal(1, (await cancelled.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("affected").GetInt32());

        // The owner sees Cancelled with the reason, never who cancelled it.
        var photo = await owner.GetFromJsonAsync<JsonElement>($"api/images/{ids[0]}", Ct);
        Assert.Equal("cancelled", photo.GetProperty("processingStatus").GetString());
        Assert.DoesNotContain(await owner.GetStringAsync($"api/images/{ids[0]}", Ct), "@example.test");
        var counts = (await admin.GetFromJsonAsync<JsonElement>("api/admin/processing", Ct)).GetProperty("counts");
        Assert.Equal((1, 0, 1), (counts.GetProperty("cancelled").GetInt32(), counts.GetProperty("failed").GetInt32(), counts.GetProperty("pending").GetInt32()));
        var month = Assert.Single((await admin.GetFromJsonAsync<JsonElement>("api/admin/reports/processing-by-month", Ct)).EnumerateArray());
        Assert.Equal((1, 0, 1), (month.GetProperty("cancelled").GetInt32(), month.GetProperty("failed").GetInt32(), month.GetProperty("unprocessed").GetInt32()));

        // The owner's Retry cannot undo an administrator's cancel; it says why.
        var ownerRetry = await owner.PostAsync($"api/images/{ids[0]}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, ownerRetry.StatusCode);
        Assert.Contains("only an administrator", await ownerRetry.Content.ReadAsStringAsync(Ct));
        Assert.Equal("cancelled", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", ids[0])));

        var adminRetry = await admin.PostAsync($"api/images/{ids[0]}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, adminRetry.StatusCode);
        Assert.Equal("pending", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", ids[0])));
    }
}

/// <summary>What the admin page's charts are drawn from.</summary>
public sealed class ThroughputReportTests
{
    [Fact]
    public async Task Throughput_Last24Hours_EveryBucketPresentWithItsCounts_AndLatencyPerProvider()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        await ImageRows.InsertAsync(cs, 1);
        await ImageRows.ScalarAsync<int>(cs, """
            INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, provider)
            SELECT j.id, j.image_id, 1, now() - interval '5 minutes' - d * interval '1 second', now() - interval '5 minutes', 1, o, 'OpenAI'
            FROM image_processing_jobs j, unnest(array['complete', 'complete', 'complete', 'failed']) AS o,
                 unnest(array[1, 2, 3, 4]) WITH ORDINALITY AS t(d, n)
            WHERE t.n = 1
            UNION ALL
            SELECT j.id, j.image_id, 1, now() - interval '3 hours', now() - interval '3 hours', 1, 'complete', 'OpenAI' FROM image_processing_jobs j
            RETURNING 1
            """);
        var reports = app.Services.GetRequiredService<ProcessingReports>();

        var buckets = await reports.ThroughputAsync(TimeSpan.FromHours(24), TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);

        Assert.InRange(buckets.Count, 144, 146);
        Assert.Equal((4L, 1L), (buckets.Sum(b => b.Complete), buckets.Sum(b => b.Failed)));
        Assert.Equal((3L, 1L), (buckets[^1].Complete + buckets[^2].Complete, buckets[^1].Failed + buckets[^2].Failed));
        var latency = Assert.Single(await reports.ProviderLatencyAsync(TimeSpan.FromHours(24), TestContext.Current.CancellationToken));
        Assert.Equal(("OpenAI", 4L), (latency.Provider, latency.Attempts));
        Assert.InRange(latency.P50Ms, 500, 1500);
    }
}
